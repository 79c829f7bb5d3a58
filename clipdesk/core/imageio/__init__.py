"""Reading untrusted image files into PIL RGB images plus the facts the catalog keeps.

Every file in a photo library is hostile input until proven otherwise: truncated copies,
fuzzed or misnamed files, decompression bombs, files we may not read. Everything here
turns bad input into :class:`ImageReadError` with a short human reason that the catalog
stores and shows, and never lets another exception type escape for bad data. Native
decoder crashes cannot be caught in-process; ``decode_pool`` runs this in workers.

One module per job: ``files`` (reading bytes under limits, fingerprints), ``formats``
(which files are photos, the allowed decoders, HEIF registration), ``exif`` (date,
camera, orientation), ``colour`` (any mode to RGB) and ``decode`` (``read_image``).
"""

from clipdesk.core.errors import ImageReadError
from clipdesk.core.imageio.colour import convert_to_rgb
from clipdesk.core.imageio.decode import DEFAULT_MAX_PIXELS, DecodedImage, read_image
from clipdesk.core.imageio.exif import camera_name, taken_at_epoch
from clipdesk.core.imageio.files import DEFAULT_MAX_FILE_BYTES, file_fingerprint, read_file_bytes
from clipdesk.core.imageio.formats import IMAGE_EXTENSIONS, is_image_path

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "DecodedImage",
    "ImageReadError",
    "camera_name",
    "convert_to_rgb",
    "file_fingerprint",
    "is_image_path",
    "read_file_bytes",
    "read_image",
    "taken_at_epoch",
]
