"""Installing an open_clip checkpoint from disk, for computers without a network.

``import_checkpoint(path, arch)`` checks that the file really is a state dict for that
open_clip architecture (loaded with ``weights_only=True``, never unpickling code), writes
it as safetensors into its own model folder with an ``open_clip_config.json`` and a
manifest, and the model then shows up in ``list_models()``. A file whose SHA-256 equals a
registry model's pinned weights is installed as that registry model, byte for byte, so
an offline computer gets exactly what a download would have given it.
"""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path
from typing import Any

from clipdesk.core import paths
from clipdesk.core.errors import ImportCheckpointError
from clipdesk.core.models.install import fresh_staging, install_staged
from clipdesk.core.models.manifest import (
    Manifest,
    file_record,
    sha256_file,
)
from clipdesk.core.models.openclip_config import (
    builtin_archs,
    builtin_model_config,
    uses_hf_text,
    write_open_clip_config,
)
from clipdesk.core.models.quiet import quiet_third_party
from clipdesk.core.models.registry import (
    ModelSpec,
    get_model,
    install_dir,
    list_models,
    validate_name,
)
from clipdesk.core.preprocess import PreprocessConfig

SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
WEIGHTS_NAME = "open_clip_model.safetensors"


def import_checkpoint(
    path: Path,
    arch: str,
    *,
    name: str | None = None,
    pretrained: str | None = None,
) -> ModelSpec:
    """Install the checkpoint at ``path`` as a model; returns its spec.

    ``pretrained`` names the open_clip pretrained tag the weights come from, which fixes
    the preprocessing (and QuickGELU); without it, an architecture with a single tag uses
    that tag's settings and others open_clip's defaults.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ImportCheckpointError(f"no such file: {path}")
    if path.suffix.lower() not in SUFFIXES:
        raise ImportCheckpointError(
            f"{path.name}: expected a checkpoint ({', '.join(SUFFIXES)}), not {path.suffix!r}"
        )
    if arch not in builtin_archs():
        close = difflib.get_close_matches(arch, builtin_archs(), n=4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ImportCheckpointError(f"unknown open_clip architecture {arch!r}{hint}")
    model_cfg = builtin_model_config(arch)
    if uses_hf_text(model_cfg):
        raise ImportCheckpointError(
            f"{arch} needs its Hugging Face tokenizer files as well; importing it from a "
            "single checkpoint is not supported"
        )
    digest = sha256_file(path)
    registry_match = _registry_model_with_sha(digest)
    if name is None:
        name = registry_match.name if registry_match else _default_name(arch, path)
    validate_name(name)
    existing = {s.name: s for s in list_models()}
    target = existing.get(name)
    if target is not None and target.source == "registry":
        return _import_as_registry_model(path, digest, target, arch)
    if target is not None:
        raise ImportCheckpointError(
            f"a model called {name!r} exists already ({target.source}); choose another --name"
        )
    tag_cfg = _tag_config(arch, pretrained)
    if tag_cfg.get("quick_gelu") and not model_cfg.get("quick_gelu"):
        model_cfg["quick_gelu"] = True
    size = int(model_cfg["vision_cfg"].get("image_size", 224))
    preprocess = PreprocessConfig.from_open_clip({**tag_cfg, "size": size})

    final = paths.models_dir() / name
    with fresh_staging(final, "import") as staging:
        write_open_clip_config(staging, model_cfg, preprocess)  # the loader reads it
        params = _load_and_save(staging, path, arch)
        weights = staging / WEIGHTS_NAME
        install_staged(
            staging,
            final,
            model_cfg=model_cfg,
            preprocess=preprocess,
            manifest=Manifest(
                name=name,
                arch=arch,
                pretrained=pretrained or "",
                source="import",
                files={WEIGHTS_NAME: file_record(weights, sha256_file(weights))},
                facts={
                    "resolution": size,
                    "params_m": round(params / 1e6, 1),
                    "source_file": str(path),
                    "source_sha256": digest,
                },
            ),
        )
    return get_model(name)


def _default_name(arch: str, path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.") or "imported"
    return f"{arch}-{stem}"[:80]


def _registry_model_with_sha(digest: str) -> ModelSpec | None:
    for spec in list_models():
        if spec.source == "registry" and any(f.sha256 == digest for f in spec.files):
            return spec
    return None


def _tag_config(arch: str, pretrained: str | None) -> dict[str, Any]:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(arch)
    if pretrained is None:
        return dict(open_clip.get_pretrained_cfg(arch, tags[0])) if len(tags) == 1 else {}
    cfg = open_clip.get_pretrained_cfg(arch, pretrained)
    if not cfg:
        known = ", ".join(tags) or "none"
        raise ImportCheckpointError(
            f"open_clip has no pretrained tag {pretrained!r} for {arch} (known: {known})"
        )
    return dict(cfg)


def _load_and_save(folder: Path, checkpoint: Path, arch: str) -> int:
    """Load ``checkpoint`` strictly into the folder's architecture, save it as
    safetensors, and return the parameter count.

    open_clip and torch speak while this runs (a random-init notice, ``weights_only``
    advice) about things the user did not do; they are kept quiet, and any failure
    becomes one line that names the file and the architecture.
    """
    import open_clip
    from open_clip.factory import load_state_dict
    from safetensors.torch import save_file

    if checkpoint.stat().st_size == 0:
        raise ImportCheckpointError(f"{checkpoint.name} is empty")
    with quiet_third_party():
        try:  # reading first, so that an unsafe or broken file is named as such
            load_state_dict(str(checkpoint), weights_only=True)
        except Exception:  # unpickling refused, corrupt file, TorchScript archive...
            raise ImportCheckpointError(_unreadable(checkpoint, arch)) from None
        model = open_clip.create_model(f"local-dir:{folder}")  # config only: random init
        try:
            open_clip.load_checkpoint(model, str(checkpoint), strict=True, weights_only=True)
        except Exception as exc:
            raise ImportCheckpointError(
                f"{checkpoint.name} is not a checkpoint of {arch}: {_first_detail(exc)}"
            ) from None
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME))
    del model
    return sum(v.numel() for v in state.values() if v.is_floating_point())


def _first_detail(exc: BaseException) -> str:
    """The informative line of a load error (a strict load's first line is a header)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    detail = lines[1] if len(lines) > 1 else lines[0] if lines else type(exc).__name__
    return detail[:300]


def _unreadable(checkpoint: Path, arch: str) -> str:
    return (
        f"{checkpoint.name} is not a checkpoint of {arch}: it cannot be read safely "
        "(only safetensors files and plain state dicts are accepted)"
    )


def _import_as_registry_model(path: Path, digest: str, spec: ModelSpec, arch: str) -> ModelSpec:
    """Install a file that is byte for byte a registry model's pinned weights."""
    if arch != spec.arch:
        raise ImportCheckpointError(
            f"{spec.name} is architecture {spec.arch}, not {arch}; use --arch {spec.arch}"
        )
    weights = [f for f in spec.files if f.sha256 == digest]
    if len(spec.files) != 1 or not weights:
        pinned = spec.files[0].sha256 if len(spec.files) == 1 else None
        reason = (
            f"its SHA-256 is not the pinned {pinned[:12]}... of {spec.name}"
            if pinned
            else f"{spec.name} cannot be imported from one file"
        )
        raise ImportCheckpointError(
            f"{path.name} cannot be installed as {spec.name}: {reason}; choose another --name"
        )
    if spec.preprocess is None:
        raise ImportCheckpointError(f"{spec.name} has no preprocessing settings")
    pinned = weights[0]
    final = install_dir(spec)
    with fresh_staging(final, "import") as staging:
        target = staging / pinned.filename
        shutil.copyfile(path, target)
        if sha256_file(target) != digest:
            raise ImportCheckpointError(f"{path.name} changed while it was being copied")
        install_staged(
            staging,
            final,
            model_cfg=builtin_model_config(spec.arch),
            preprocess=spec.preprocess,
            manifest=Manifest(
                name=spec.name,
                arch=spec.arch,
                pretrained=spec.pretrained,
                source="download",
                files={pinned.filename: file_record(target, digest)},
                facts={"source_file": str(path)},
            ),
        )
    return spec
