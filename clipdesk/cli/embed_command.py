"""``clipdesk embed``: image or text embeddings as a NumPy file, one row per input."""

from __future__ import annotations

import argparse
import os
import sys

from clipdesk.cli.checks import non_empty
from clipdesk.cli.output import one_line, shown


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "embed",
        help="write normalised embeddings of images or texts to a .npy file",
        description=(
            "One float32 row per input, in argument order, L2-normalised. Texts longer than "
            "the model's context (77 tokens for most models) are split into sentence "
            "chunks whose vectors are averaged, or cut with --long-text truncate."
        ),
    )
    p.add_argument("images", nargs="*", type=non_empty, metavar="IMG", help="image files")
    p.add_argument("--text", nargs="+", metavar="TEXT", help="embed these texts instead")
    p.add_argument(
        "--out", required=True, type=non_empty, metavar="FILE.npy", help="where to write the array"
    )
    p.add_argument(
        "--long-text",
        choices=("chunk", "truncate"),
        default="chunk",
        help="what to do with texts past the context length (default: chunk)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.set_defaults(func=cmd_embed)


def requested_model(args: argparse.Namespace) -> str | None:
    """``--model``, else ``$CLIPDESK_MODEL``, else None (the registry decides)."""
    return getattr(args, "model", None) or os.environ.get("CLIPDESK_MODEL") or None


def cmd_embed(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError

    if bool(args.images) == bool(args.text):
        raise CliError("give image files or --text TEXT..., not both and not neither")
    for i, text in enumerate(args.text or (), start=1):
        if not text.strip():
            raise CliError(f"text {i} is empty: give some words to embed")
    out = _output_file(args.out)
    import numpy as np

    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.errors import ModelError

    try:
        encoder = load_encoder(requested_model(args), device=args.device)
    except ModelError as exc:
        raise CliError(str(exc)) from exc
    # Notes wait until the array is written: an error must stay the only line on stderr.
    notes: list[str] = []
    if encoder.spec.is_demo:
        notes.append(
            f"clipdesk: note: using the demo model {encoder.spec.name}, which only knows "
            "simple shapes; install a real one with: clipdesk models download NAME"
        )
    if args.text:
        vectors = _embed_texts(encoder, args.text, args.long_text, notes)
    else:
        vectors = encoder.encode_images(_read_images(args.images, encoder.preprocess_cfg.size))
    try:
        np.save(out, np.ascontiguousarray(vectors, dtype=np.float32))
    except OSError as exc:
        raise CliError(f"cannot write {shown(out)}: {exc.strerror or exc}") from exc
    for note in notes:
        print(note, file=sys.stderr)
    print(f"wrote {len(vectors)} x {encoder.dim} vectors ({encoder.model_key}) to {one_line(out)}")
    return 0


def _output_file(text: str) -> str:
    """Where to write: ``--out`` with ``.npy`` added; never a folder, and never over a
    file that is not a NumPy array (a photo passed by mistake stays as it was)."""
    from clipdesk.cli.errors import CliError

    if os.path.isdir(text):
        raise CliError(f"--out is a folder: {shown(text)}; give a file name such as vectors.npy")
    out = text if text.endswith(".npy") else text + ".npy"
    if os.path.isdir(out):
        raise CliError(f"--out is a folder: {shown(out)}")
    if os.path.lexists(out):
        try:
            with open(out, "rb") as existing:
                is_array = existing.read(6) == b"\x93NUMPY"
        except OSError as exc:
            raise CliError(f"cannot write {shown(out)}: {exc.strerror or exc}") from exc
        if not is_array:
            raise CliError(f"{shown(out)} exists and is not a NumPy file; not overwriting it")
    return out


def _embed_texts(encoder: object, texts: list[str], long_text: str, notes: list[str]) -> object:
    """The texts' vectors; a warning joins ``notes`` for each text past the context."""
    result = encoder.encode_texts(texts, long_text=long_text)  # type: ignore[attr-defined]
    limit = encoder.context_length  # type: ignore[attr-defined]
    for i, (count, chunks, cut) in enumerate(
        zip(result.token_counts, result.chunks, result.truncated, strict=True), start=1
    ):
        if count <= limit:
            continue
        if chunks > 1:
            how = f"embedded as {chunks} sentence chunks whose vectors were averaged"
            if cut:
                how += " (a chunk was still too long and lost its end)"
        else:
            how = f"cut to the first {limit} tokens; the rest was ignored"
        notes.append(
            f"clipdesk: warning: text {i} has {count} tokens, more than the model's {limit}: {how}"
        )
    return result.vectors


def _read_images(paths: list[str], size: int) -> list[object]:
    from clipdesk.cli.errors import CliError

    images = []
    for path in paths:
        try:
            images.append(_read_one(path, size))
        except _ReadFailure as exc:
            raise CliError(f"{shown(path)}: {exc}") from exc
    return images


class _ReadFailure(Exception):
    pass


def _read_one(path: str, size: int) -> object:
    from clipdesk.core.errors import ImageReadError
    from clipdesk.core.imageio import read_image

    try:  # the indexer's own decode: EXIF orientation, alpha on white, JPEG draft mode
        return read_image(path, target_size=size).image
    except ImageReadError as exc:
        raise _ReadFailure(str(exc) or "unreadable image") from exc
