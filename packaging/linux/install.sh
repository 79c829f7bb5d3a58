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
# The window's X11 plugin needs these libraries (clipdesk/cli/desktop_libs.py lists the
# same); a fresh Debian or Ubuntu lacks some. Say which packages to add, then go on.
missing=""
ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
[ -x "$ldconfig" ] && for pair in libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 \
    libxcb-image.so.0:libxcb-image0 libxcb-keysyms.so.1:libxcb-keysyms1 \
    libxcb-randr.so.0:libxcb-randr0 libxcb-render-util.so.0:libxcb-render-util0 \
    libxcb-shape.so.0:libxcb-shape0 libxcb-shm.so.0:libxcb-shm0 libxcb-sync.so.1:libxcb-sync1 \
    libxcb-util.so.1:libxcb-util1 libxcb-xfixes.so.0:libxcb-xfixes0 libxcb-xkb.so.1:libxcb-xkb1 \
    libxkbcommon-x11.so.0:libxkbcommon-x11-0 libX11-xcb.so.1:libx11-xcb1; do
    soname="${pair%%:*}"
    if ! "$ldconfig" -p 2>/dev/null | grep -q "^[[:space:]]*$soname "; then
        missing="$missing ${pair#*:}"
    fi
done
if [ -n "$missing" ]; then
    echo "install.sh: the window needs X11 libraries that are missing; run: sudo apt install$missing" >&2
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
