"""clipdesk: private, local photo search by what is in the pictures."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("clipdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
