"""The library's current model: its name at once, its encoder when first needed.

The library, its tags and the window all ask "which model?" and "its encoder, please";
this one object answers, so that nothing reaches into another object's private encoder.
A model switch replaces the encoder here in one step, when the new model is complete.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Protocol

from clipdesk.core.errors import LibraryError

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.encoder import Encoder

__all__ = ["EncoderProvider", "ModelSlot"]


class EncoderProvider(Protocol):
    """What tags and searches need to know about the model in use."""

    @property
    def name(self) -> str:
        """The model's name, known without loading it."""

    @property
    def loaded(self) -> Encoder | None:
        """The encoder if it is loaded; never loads it."""

    def get(self) -> Encoder:
        """The encoder, loaded on first use (LibraryError if it cannot be)."""

    def model_key(self) -> str | None:
        """The loaded model's key, else the one the library was last built with."""


class ModelSlot:
    """The one :class:`EncoderProvider` of a library (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        requested: str | None = None,
        device: str = "auto",
        encoder: Encoder | None = None,
    ) -> None:
        self._catalog = catalog
        self._requested = requested
        self.device_request = device
        self._encoder = encoder
        self._lock = threading.RLock()  # guards loading only: held for one load, never a job

    @property
    def name(self) -> str:
        """The model asked for, else the one the library was built with, else the default."""
        encoder = self._encoder
        if encoder is not None:
            return encoder.spec.name
        return self.would_choose(self._requested or os.environ.get("CLIPDESK_MODEL"))

    def would_choose(self, requested: str | None) -> str:
        """The model a process opening this library asking for ``requested`` (its
        ``--model`` or ``CLIPDESK_MODEL``) would use."""
        name = requested or self._catalog.get_meta("model_name")
        if name:
            return name
        from clipdesk.core.models.registry import resolve_model

        return resolve_model(None).name

    @property
    def loaded(self) -> Encoder | None:
        return self._encoder

    def get(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                from clipdesk.core.encoder import load_encoder

                name = self.name
                try:
                    self._encoder = load_encoder(name, device=self.device_request)
                except Exception as exc:  # missing weights, unknown name, bad file
                    raise LibraryError(f"cannot load model {name!r}: {exc}") from exc
            return self._encoder

    def model_key(self) -> str | None:
        encoder = self._encoder
        if encoder is not None:
            return encoder.model_key
        return self._catalog.get_meta("model_key")

    def load_other(self, name: str) -> Encoder:
        """Another model's encoder, for a switch; the slot keeps its own until :meth:`use`."""
        from clipdesk.core.encoder import load_encoder

        try:
            return load_encoder(name, device=self.device_request)
        except Exception as exc:
            raise LibraryError(f"cannot load model {name!r}: {exc}") from exc

    def use(self, encoder: Encoder) -> None:
        """Make ``encoder`` the model in use (a faster backend of it, or a switch)."""
        with self._lock:
            self._encoder = encoder
            self._requested = encoder.spec.name
