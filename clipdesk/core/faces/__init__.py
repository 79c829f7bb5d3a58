"""Faces in photos: dlib's detector and embedder, run in the decode workers.

Only the plain records and the protocol are imported here, so the indexer can name
them without loading dlib; ``detect`` loads it in the worker processes.
"""

from __future__ import annotations

from clipdesk.core.faces.sink import FACES_SETTING, FaceSink, faces_setting, faces_wanted

__all__ = ["FACES_SETTING", "FaceSink", "faces_setting", "faces_wanted"]
