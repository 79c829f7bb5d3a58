"""PyInstaller runtime hook: let model downloads verify HTTPS on the user's computer.

The bundled OpenSSL looks for trusted certificates where the build machine keeps them
(``/usr/lib/ssl`` on Debian, a Homebrew or python.org folder on macOS). Other Linux
distributions and most Macs keep them elsewhere, and every download would then fail
certificate verification. When the built-in place has none and the user has not chosen
one (``SSL_CERT_FILE``/``SSL_CERT_DIR``), point OpenSSL at the system's own bundle.
Windows needs nothing: Python reads the Windows certificate store.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence

# The system certificate bundles, by distribution family.
SYSTEM_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/ssl/cert.pem",  # macOS, Alpine, FreeBSD
)


def use_system_certificates(
    environ: MutableMapping[str, str],
    default_places: Sequence[str | None],
    bundles: Sequence[str] = SYSTEM_BUNDLES,
) -> str | None:
    """Set ``SSL_CERT_FILE`` in ``environ`` when needed; returns the file chosen."""
    if environ.get("SSL_CERT_FILE") or environ.get("SSL_CERT_DIR"):
        return None
    if any(place and os.path.exists(place) for place in default_places):
        return None
    for bundle in bundles:
        if os.path.isfile(bundle):
            environ["SSL_CERT_FILE"] = bundle
            return bundle
    return None


def _run() -> None:
    if sys.platform == "win32":
        return
    import ssl

    paths = ssl.get_default_verify_paths()
    use_system_certificates(os.environ, [paths.openssl_cafile, paths.openssl_capath])


if getattr(sys, "frozen", False):
    _run()
