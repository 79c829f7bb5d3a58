#!/bin/sh
# Remove what install.sh added. Your libraries, settings and downloaded models stay
# (~/.local/share/clipdesk, ~/.config/clipdesk, ~/.cache/clipdesk); delete them by hand.
#   ./uninstall.sh                    (or: sudo ./uninstall.sh --prefix /usr/local)
set -eu

prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

rm -f "$prefix/bin/clipdesk" "$prefix/share/applications/clipdesk.desktop"
rm -f "$prefix"/share/icons/hicolor/*/apps/clipdesk.png
rm -f "$prefix/share/icons/hicolor/scalable/apps/clipdesk.svg"
rm -rf "$prefix/lib/clipdesk"
command -v update-desktop-database >/dev/null 2>&1 \
    && update-desktop-database -q "$prefix/share/applications" || true
echo "clipdesk removed from $prefix"
