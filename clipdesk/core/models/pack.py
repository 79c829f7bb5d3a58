"""ONNX packs: one file that installs a model on any clipdesk, torch or not.

A pack is a zip holding ``manifest.json`` (what the model is, and the SHA-256 and size of
every other file) and, under ``onnx/``, a checked export: the image and text towers, the
``meta.json`` that names them with the tokenizer and preprocessing settings, the
tokenizer's vocabulary (CLIP's BPE, or a Hugging Face ``tokenizer.json``), and the tag
vocabulary's features (``label-features.npz``: every default tag through every prompt
template, embedded by the packed text tower, so the first tag run with the model embeds
none of them). Making one needs torch (:func:`write_pack`: the export is compared with
the open_clip model on probe inputs, cosine >= ``MIN_COSINE`` per tower precision);
installing one needs only ONNX Runtime (:func:`install_pack`, every file verified
against the manifest while it is extracted, the model folder appearing in one rename).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipdesk.core import paths
from clipdesk.core.errors import (
    ChecksumError,
    ExportError,
    ImportCheckpointError,
    MissingDependencyError,
)
from clipdesk.core.files import atomic_path
from clipdesk.core.models.install import fresh_staging, swap_into_place
from clipdesk.core.models.manifest import (
    LABEL_FEATURES,
    PACKED_DIR,
    Manifest,
    file_record,
    write_json_atomic,
    write_manifest,
)
from clipdesk.core.models.registry import (
    ModelSpec,
    get_model,
    install_dir,
    list_models,
    torch_available,
    validate_name,
)

if TYPE_CHECKING:
    from clipdesk.core.encoding import Encoder

PACK_FORMAT = 1
PACK_SUFFIX = ".clipdesk-pack"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def export_model(spec: ModelSpec, directory: Path, *, threads: int | None = None) -> dict[str, Any]:
    """Export ``spec`` into ``directory`` as a model folder's ``onnx/`` (the files a pack
    holds), checked against open_clip; returns the export's metadata. Needs torch."""
    if not torch_available():
        raise MissingDependencyError(
            "exporting a model needs torch and open_clip: pip install 'clipdesk[torch]'"
        )
    from clipdesk.core.clip_tokenizer import VOCAB_NAME, default_vocab_path
    from clipdesk.core.models.onnx_export import export_encoder
    from clipdesk.core.torch_encoder import load_torch_encoder

    reference = load_torch_encoder(spec, device="cpu", precision="fp32", threads=threads)
    meta = export_encoder(reference, directory=directory, threads=threads, keep_all=True)
    if not meta.get("image") or not meta.get("text"):
        raise ExportError(f"{spec.name}: both towers must export to ONNX to make a pack")
    if meta["tokenizer"].get("kind") == "clip-bpe":  # a Hugging Face one is there already
        shutil.copy2(default_vocab_path(), directory / VOCAB_NAME)
    meta["pack_check"] = {
        tower: _choose_tower(reference, directory, meta, tower, threads)
        for tower in ("image", "text")
    }
    keep = {meta["image"]["file"], meta["text"]["file"]}
    for path in directory.glob("*.onnx"):
        if path.name not in keep:
            path.unlink()
    meta["label_features"] = _ship_label_features(spec, directory, meta, threads)
    write_json_atomic(directory / "meta.json", meta)
    return meta


def _ship_label_features(
    spec: ModelSpec, directory: Path, meta: dict[str, Any], threads: int | None
) -> dict[str, Any]:
    """Embed the model's vocabulary (every tag through every prompt template) with the
    packed text tower, into the file the pack ships: features that depend only on the
    model, which a first tag run would otherwise spend minutes on."""
    from clipdesk.core.onnx_backend import OnnxEncoder
    from clipdesk.core.tags.prompts import prompt_set_for_model
    from clipdesk.core.tags.vocabulary import format_vocabulary, vocabulary_for_model
    from clipdesk.core.tags.zeroshot import write_shipped_features

    source, tags = vocabulary_for_model(spec.name, install_dir(spec))
    prompts = prompt_set_for_model(spec.name)
    packed = OnnxEncoder(spec, directory, meta, threads=threads, keep_optimised=False)
    count = write_shipped_features(
        directory / LABEL_FEATURES,
        str(meta["model_key"]),
        lambda texts: packed.encode_texts(texts).vectors,
        tags,
        prompts,
    )
    text = format_vocabulary(tags).encode("utf-8")
    return {
        "file": LABEL_FEATURES,
        "vocabulary": source,
        "vocabulary_sha256": hashlib.sha256(text).hexdigest(),
        "tags": len(tags),
        "captions": count,
        "templates": list(prompts.templates),
        "neutral": list(prompts.neutral),
    }


def _choose_tower(
    reference: Encoder, directory: Path, meta: dict[str, Any], tower: str, threads: int | None
) -> float:
    """Settle ``meta[tower]`` on the smallest file that holds in use, and its cosine.

    The export checks each probe alone; here the towers run as the encoder runs them, in
    batches, where int8's per-batch activation scales can cost a random model's text tower
    its margin. Candidates: the export's choice, then its other passing files; for the
    text tower each first with its token embedding in fp16.
    """
    from clipdesk.core.models.onnx_export import required_cosine
    from clipdesk.core.models.onnx_fp16 import halve_embeddings

    chosen = meta[tower]
    options = [chosen] + [
        dict(entry)
        for entry in meta["checks"][tower]
        if entry.get("file")
        and entry["file"] != chosen["file"]
        and entry["min_cosine"] >= required_cosine(str(entry["precision"]))
    ]
    best = 0.0
    for option in options:
        variants = [option]
        if tower == "text":
            source = directory / option["file"]
            half = source.with_name(source.name.replace(".onnx", ".fp16emb.onnx"))
            shutil.copy2(source, half)
            if halve_embeddings(half):
                size = half.stat().st_size
                variants.insert(
                    0, {**option, "file": half.name, "size": size, "embedding": "float16"}
                )
            else:
                half.unlink()
        for variant in variants:
            meta[tower] = {**variant, "trim": option.get("trim", chosen.get("trim"))}
            if tower == "image":
                meta[tower].pop("trim")
            cosine = _tower_cosine(reference, directory, meta, tower, threads)
            best = max(best, cosine)
            if cosine >= required_cosine(str(variant["precision"])):
                return round(cosine, 6)
    meta[tower] = chosen
    raise ExportError(
        f"{reference.spec.name}: the exported {tower} tower reaches cosine {best:.5f} to "
        "open_clip at best, below what its precision requires"
    )


def _tower_cosine(
    reference: Encoder, directory: Path, meta: dict[str, Any], tower: str, threads: int | None
) -> float:
    """Least cosine between the export's ``tower`` and ``reference`` on the probe inputs."""
    from clipdesk.core.models.onnx_export import PROBE_TEXTS, probe_images
    from clipdesk.core.onnx_backend import OnnxEncoder

    packed = OnnxEncoder(reference.spec, directory, meta, threads=threads, keep_optimised=False)
    if tower == "image":
        pixels = probe_images(reference.preprocess_cfg)
        got, want = packed.encode_image_batch(pixels), reference.encode_image_batch(pixels)
    else:
        got = packed.encode_texts(PROBE_TEXTS).vectors
        want = reference.encode_texts(PROBE_TEXTS).vectors
    return float((got * want).sum(axis=1).min())


def write_pack(spec: ModelSpec, out: Path, *, threads: int | None = None) -> dict[str, Any]:
    """Export ``spec`` and write it as one pack file at ``out``; returns its manifest."""
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".clipdesk-pack-", dir=out.parent) as tmp:
        onnx_dir = Path(tmp) / PACKED_DIR
        meta = export_model(spec, onnx_dir, threads=threads)
        files = {
            f"{PACKED_DIR}/{p.name}": {"sha256": _sha256(p), "size": p.stat().st_size}
            for p in sorted(onnx_dir.iterdir())
            if p.is_file()
        }
        manifest = {
            "format": PACK_FORMAT,
            "name": spec.name,
            "arch": spec.arch,
            "pretrained": spec.pretrained,
            "model_key": meta["model_key"],
            "dim": meta["dim"],
            "resolution": int(meta["preprocess"]["size"]),
            "licence": spec.licence,
            "languages": spec.languages,
            "checks": meta["pack_check"],
            "label_features": meta.get("label_features"),
            "created_at": time.time(),
            "files": files,
        }
        with atomic_path(out) as partial, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
            for name in files:
                zf.write(Path(tmp) / name, name)
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def is_pack(path: Path) -> bool:
    """True when ``path`` is a zip with a pack manifest (whatever its name ends with)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return MANIFEST in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read_pack_manifest(path: Path) -> dict[str, Any]:
    """The pack's manifest, checked for a known format and safe file names."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ImportCheckpointError(f"{path.name} is not a clipdesk model pack ({exc})") from None
    if int(manifest.get("format", 0)) != PACK_FORMAT:
        raise ImportCheckpointError(f"{path.name}: pack format {manifest.get('format')!r} unknown")
    files = manifest.get("files")
    if not isinstance(files, dict) or f"{PACKED_DIR}/meta.json" not in files:
        raise ImportCheckpointError(f"{path.name}: the pack's manifest lists no export")
    for name in files:
        folder, _, base = str(name).partition("/")
        if folder != PACKED_DIR or not base or "/" in base or base.startswith("."):
            raise ImportCheckpointError(f"{path.name}: unexpected file {name!r} in the pack")
    return manifest


def install_pack(path: Path, *, name: str | None = None) -> ModelSpec:
    """Install the pack at ``path``; returns the model's spec.

    A pack named like a registry model installs as that model (its ONNX form); any other
    name becomes an imported model. Files are verified against the manifest as they are
    extracted; on any failure the model folder is left as it was.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ImportCheckpointError(f"no such file: {path}")
    manifest = read_pack_manifest(path)
    try:
        model_name = validate_name(name or str(manifest["name"]))
    except ValueError as exc:
        raise ImportCheckpointError(str(exc)) from None
    target = next((s for s in list_models() if s.name == model_name), None)
    if target is not None and target.source == "bundled":
        raise ImportCheckpointError(
            f"{model_name} is bundled with clipdesk; import the pack under another --name"
        )
    final = install_dir(target) if target is not None else paths.models_dir() / model_name
    with fresh_staging(final, "pack") as staging:
        (staging / PACKED_DIR).mkdir()
        records = _extract_verified(path, manifest, staging)
        facts = {k: manifest.get(k) for k in ("resolution", "licence", "languages", "dim")}
        facts.update(
            model_key=manifest.get("model_key"),
            good_for=f"Installed from the ONNX pack {path.name}.",
            source_file=str(path),
        )
        write_manifest(
            staging,
            Manifest(
                name=model_name,
                arch=str(manifest.get("arch", "")),
                pretrained=str(manifest.get("pretrained", "")),
                source="pack",
                files=records,
                facts=facts,
            ),
        )
        swap_into_place(staging, final)
    return get_model(model_name)


def _extract_verified(path: Path, manifest: dict[str, Any], staging: Path) -> dict[str, Any]:
    records = {}
    with zipfile.ZipFile(path) as zf:
        for name, expected in manifest["files"].items():
            dest = staging / name
            digest = hashlib.sha256()
            try:
                with zf.open(name) as src, open(dest, "wb") as out:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            except KeyError:
                raise ImportCheckpointError(f"{path.name}: {name} is not in the pack") from None
            size = dest.stat().st_size
            if digest.hexdigest() != expected.get("sha256") or size != expected.get("size"):
                raise ChecksumError(
                    f"{path.name}: {name} does not match the SHA-256 in the pack's manifest; "
                    "the pack is damaged or was altered"
                )
            records[name] = file_record(dest, digest.hexdigest())
    return records


def download_pack(
    spec: ModelSpec,
    *,
    progress: Any = None,
    cancel: Any = None,
    endpoint: str | None = None,
) -> Path:
    """Fetch the registry's pinned pack of ``spec`` (resumable, SHA-256 checked) and
    install it as that model; returns the model folder."""
    from clipdesk.core.errors import UnpinnedFileError
    from clipdesk.core.models.download import fetch_file

    source = spec.pack
    if source is None:
        raise ImportCheckpointError(f"the registry names no ONNX pack for {spec.name}")
    if not source.pinned:
        raise UnpinnedFileError(f"{spec.name}: its pack has no pinned revision and SHA-256")
    final = install_dir(spec)
    dest = final.with_name(f".{final.name}.download") / source.filename
    fetch_file(
        source.url(endpoint), dest, source.sha256, source.size, progress=progress, cancel=cancel
    )
    try:
        install_pack(dest, name=spec.name)
    finally:
        shutil.rmtree(dest.parent, ignore_errors=True)
    return final


def cannot_run_download(spec: ModelSpec) -> str | None:
    """Why downloading ``spec`` would give this install nothing it can run, or None."""
    from clipdesk.core.models.registry import needs_torch_message

    if spec.pack is not None or torch_available():
        return None
    return needs_torch_message(spec).replace("is installed as", "is published as")


def download_runnable(
    spec: ModelSpec,
    *,
    progress: Any = None,
    cancel: Any = None,
    endpoint: str | None = None,
) -> Path:
    """Download the form of ``spec`` this install can run: its ONNX pack without torch
    (or when it has nothing else), its open_clip weights with torch. A plain install
    asked for a model published only as weights gets one line saying what to do."""
    from clipdesk.core.models.download import download_model

    problem = cannot_run_download(spec)
    if problem is not None:
        raise MissingDependencyError(problem)
    if spec.pack is not None and (not spec.files or not torch_available()):
        return download_pack(spec, progress=progress, cancel=cancel, endpoint=endpoint)
    return download_model(spec, progress=progress, cancel=cancel, endpoint=endpoint)
