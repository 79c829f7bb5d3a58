"""What the indexer hands the faces it found to, and whether faces are wanted at all."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from clipdesk.core.faces.detect import FoundFace

FACES_ENV = "CLIPDESK_FACES"  # "0" or "off": do not look for faces unless asked
FACES_SETTING = "faces"  # "off" once the user forgot every face: index finds none unless asked


class FaceSink(Protocol):
    """Where an index run sends faces: stored, then grouped into people (``core.people``)."""

    def scanned(self) -> set[str]:
        """Fingerprints of the photos already looked at for faces."""
        ...

    def record(self, found: Sequence[tuple[str, tuple[FoundFace, ...]]]) -> int:
        """Store the faces of newly looked-at photos (none is a finding too); how many."""
        ...


def faces_setting(value: str | None) -> bool | None:
    """The library's own setting as stored in ``meta``: False after ``people
    forget-all``, None when never set."""
    return None if not value else value == "on"


def faces_wanted(asked: bool | None) -> bool:
    """Whether an index run looks for faces: as asked, else on unless the environment
    (``CLIPDESK_FACES=0``) turns the default off."""
    if asked is not None:
        return asked
    return os.environ.get(FACES_ENV, "1").strip().lower() not in ("0", "off", "false", "no")
