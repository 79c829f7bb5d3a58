#!/bin/sh
# Wrap dist/clipdesk.app (made by packaging/build.py on a Mac) into a .dmg that a user
# opens and drags to Applications.   Usage: make_dmg.sh dist/clipdesk.app dist/clipdesk.dmg
#
# Optional, for a release that opens without Gatekeeper's warning:
#   CLIPDESK_CODESIGN_IDENTITY="Developer ID Application: NAME (TEAMID)"  signs the app
#   CLIPDESK_NOTARY_PROFILE=profile  (made with `xcrun notarytool store-credentials`)
#                                     notarises the .dmg and staples the ticket
set -eu

app="$1"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
[ -d "$app" ] || { echo "make_dmg.sh: no app at $app" >&2; exit 1; }

if [ -n "${CLIPDESK_CODESIGN_IDENTITY:-}" ]; then
    # Every Mach-O file inside first (torch, Qt), then the bundle itself.
    find "$app/Contents" -type f \( -name "*.dylib" -o -name "*.so" -o -perm -u+x \) \
        -exec codesign --force --timestamp --options runtime \
            --entitlements "$here/entitlements.plist" \
            --sign "$CLIPDESK_CODESIGN_IDENTITY" {} + 2>/dev/null || true
    codesign --force --timestamp --options runtime --entitlements "$here/entitlements.plist" \
        --sign "$CLIPDESK_CODESIGN_IDENTITY" "$app"
    codesign --verify --deep --strict "$app"
fi

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
rm -f "$out"
hdiutil create -volname clipdesk -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$out"

if [ -n "${CLIPDESK_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$out" --keychain-profile "$CLIPDESK_NOTARY_PROFILE" --wait
    xcrun stapler staple "$out"
fi
echo "wrote $out"
