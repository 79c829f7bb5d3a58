"""Video indexing speed: seconds of indexing per minute of 1080p H.264 video.

A generated 1080p, 30 fps H.264 clip (``--seconds``, default 60) of shape scenes, each
5 s long, with camera-like motion (a slow drift) and sensor noise, is kept under the
benchmark folder. In one run:

- **decode alone**: PyAV decodes every frame and nothing else: the floor any indexer of
  every frame pays;
- **clipdesk's reader**: decode, sample every 0.5 s, cut into scenes, one picture per
  scene (what a decode worker does for a video);
- **one frame a second**: the common baseline: a full-size picture every second, each
  embedded (60 vectors a minute, whatever the video shows);
- **clipdesk, one vector per scene**: the reader, then each scene's picture embedded;
- **clipdesk index**: ``Library.index`` end to end (scan, sandboxed decode worker,
  encoder, SQLite, HNSW) with the small demo model, so the pipeline's own cost shows.

The two embedding rows use the default model's architecture (ViT-B-32 at 256 px, random
weights, torch on the CPU). Run::

    .venv/bin/python benchmarks/bench_video.py              # a minute of video
    .venv/bin/python benchmarks/bench_video.py --seconds 20 # quicker
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import benchlib
from benchlib import DEFAULT_MODEL, CpuClock, bench_dir, ensure_random_model, table, use_bench_dirs

SCENE_S = 5
FPS = 30
WIDTH, HEIGHT = 1920, 1080
SHAPES = [
    ("circle", "red"), ("square", "blue"), ("star", "green"), ("heart", "yellow"),
    ("triangle", "black"), ("circle", "blue"),
]  # fmt: skip


def make_video(path: Path, seconds: int) -> Path:
    """The benchmark clip, written once (libx264, yuv420p, 12 Mbit/s)."""
    if path.exists():
        return path
    import av
    import numpy as np

    from clipdesk.training.shapes import render_scene, scene_for

    rng = np.random.default_rng(0)
    noise = [rng.integers(-14, 15, (HEIGHT, WIDTH + 64, 3), dtype=np.int16) for _ in range(6)]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 12_000_000  # a phone's 1080p: 10-17 Mbit/s
        stream.options = {"preset": "veryfast"}
        for frame_no in range(seconds * FPS):
            scene = frame_no // (SCENE_S * FPS)
            if frame_no % (SCENE_S * FPS) == 0:
                shape, colour = SHAPES[scene % len(SHAPES)]
                square = np.asarray(
                    render_scene(scene_for(shape, colour), HEIGHT, rng, shading=True),
                    dtype=np.int16,
                )
                canvas = np.full((HEIGHT, WIDTH + 64, 3), 128, np.int16)
                left = (WIDTH + 64 - HEIGHT) // 2
                canvas[:, left : left + HEIGHT] = square
            shift = (frame_no % (SCENE_S * FPS)) * 64 // (SCENE_S * FPS)  # a slow pan
            pixels = canvas[:, shift : shift + WIDTH] + noise[frame_no % 6][:, :WIDTH]
            frame = av.VideoFrame.from_ndarray(np.clip(pixels, 0, 255).astype(np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(path)
    return path


def decode_alone(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def one_frame_a_second(path: Path, encoder) -> int:
    """Every second's first frame, full size, preprocessed and embedded in batches."""
    import av

    from clipdesk.core.preprocess import preprocess

    pictures = []
    next_t = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time >= next_t:
                pictures.append(preprocess(frame.to_image(), encoder.preprocess_cfg))
                next_t += 1.0
    import numpy as np

    encoder.encode_image_batch(np.stack(pictures))
    return len(pictures)


def per_scene(path: Path, encoder) -> int:
    import numpy as np

    from clipdesk.core.preprocess import preprocess
    from clipdesk.core.video.reader import read_video

    video = read_video(os.fsencode(path), target_size=encoder.preprocess_cfg.size)
    pixels = np.stack([preprocess(s.image, encoder.preprocess_cfg) for s in video.scenes])
    encoder.encode_image_batch(pixels)
    return len(video.scenes)


def reader_only(path: Path, size: int) -> int:
    from clipdesk.core.video.reader import read_video

    return len(read_video(os.fsencode(path), target_size=size).scenes)


def index_whole(path: Path, work: Path) -> int:
    from clipdesk.core.library import Library
    from clipdesk.core.progress import run_to_end

    folder = work / "videos"
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    with Library.open(work / "lib", model="tiny-shapes") as library:
        report = run_to_end(library.index([folder], workers=1))
    return report.encoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the clip")
    args = parser.parse_args()
    info = benchlib.print_conditions("video indexing")
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    use_bench_dirs(work)
    ensure_random_model()
    clip = make_video(bench_dir() / "video" / f"shapes-1080p-{args.seconds}s-12M.mp4", args.seconds)
    print(f"  clip: {clip} ({clip.stat().st_size / 1e6:.1f} MB, {args.seconds} s)")
    from clipdesk.core.encoder import load_encoder

    encoder = load_encoder(DEFAULT_MODEL, device="cpu", backend="torch")
    encoder.encode_image_batch(per_scene_pixels_warmup(encoder))
    decode_alone(clip)  # the file in the page cache, FFmpeg's libraries loaded: for every row
    rows, data = [], {"conditions": info, "seconds": args.seconds}
    runs = [
        ("decode every frame alone (the floor)", "frames", lambda: decode_alone(clip)),
        ("clipdesk reader: sample, cut scenes", "scenes", lambda: reader_only(clip, 256)),
        ("one frame a second, each embedded (baseline)", "vectors",
         lambda: one_frame_a_second(clip, encoder)),
        ("clipdesk: one vector per scene", "vectors", lambda: per_scene(clip, encoder)),
        ("clipdesk index end to end (demo model)", "vectors", lambda: index_whole(clip, work)),
    ]  # fmt: skip
    for name, unit, run in runs:
        with CpuClock() as clock:
            count = run()
        wall_min, cpu_min = clock.wall * 60 / args.seconds, clock.cpu * 60 / args.seconds
        speed = args.seconds / clock.wall
        rows.append([name, f"{count} {unit}", f"{wall_min:.1f}", f"{cpu_min:.1f}", f"{speed:.1f}"])
        data[name] = {"count": count, "wall_s": clock.wall, "cpu_s": clock.cpu}
        print(f"  {name}: {count} {unit}, {clock.wall:.1f} s wall, {clock.cpu:.1f} s CPU")
    print(table(["run", "output", "s per video minute (wall)", "CPU s per video minute",
                 "video s per wall s"], rows))  # fmt: skip
    benchlib.save_results("video", data)
    shutil.rmtree(work, ignore_errors=True)


def per_scene_pixels_warmup(encoder):
    import numpy as np

    size = encoder.preprocess_cfg.size
    return np.zeros((2, 3, size, size), dtype=np.float32)


if __name__ == "__main__":
    main()
