#!/bin/sh
# Install clipdesk from this folder for the current user (default) or system-wide:
#   ./install.sh                      -> ~/.local/lib/clipdesk, ~/.local/bin/clipdesk
#   sudo ./install.sh --prefix /usr/local
# Adds the menu entry and icons; ./uninstall.sh (also installed) removes them again.
set -eu

prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

src="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$src/clipdesk" ]; then
    echo "install.sh: run it from the unpacked clipdesk folder" >&2
    exit 1
fi
app="$prefix/lib/clipdesk"
bin="$prefix/bin"
share="$prefix/share"

echo "Installing clipdesk to $app"
mkdir -p "$prefix/lib" "$bin" "$share/applications"
if [ "$src" != "$app" ]; then
    rm -rf "$app.new"
    cp -a "$src" "$app.new"
    chmod -R a+rX "$app.new"
    rm -rf "$app"
    mv "$app.new" "$app"
fi
ln -sf "$app/clipdesk" "$bin/clipdesk"

icons="$app/_internal/resources/icons"
for png in "$icons"/clipdesk-*.png; do
    size="${png##*/clipdesk-}"
    size="${size%.png}"
    mkdir -p "$share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$share/icons/hicolor/${size}x${size}/apps/clipdesk.png"
done
if [ -f "$icons/clipdesk.svg" ]; then
    mkdir -p "$share/icons/hicolor/scalable/apps"
    cp "$icons/clipdesk.svg" "$share/icons/hicolor/scalable/apps/clipdesk.svg"
fi

# The menu may not have $bin on its PATH: name the executable by its full path.
sed -e "s|^Exec=clipdesk|Exec=$app/clipdesk|" -e "s|^TryExec=clipdesk|TryExec=$app/clipdesk|" \
    "$app/clipdesk.desktop" > "$share/applications/clipdesk.desktop"
chmod 644 "$share/applications/clipdesk.desktop"

command -v update-desktop-database >/dev/null 2>&1 \
    && update-desktop-database -q "$share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 \
    && gtk-update-icon-cache -q -t "$share/icons/hicolor" || true

echo "Done. Start clipdesk from the applications menu, or run: $bin/clipdesk"
case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "(add $bin to your PATH to type just 'clipdesk')" ;;
esac
