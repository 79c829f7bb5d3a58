"""Generated pictures of coloured shapes: the public face of the data generator.

``render_scene(scene_for("circle", "red"), 256)`` is "a red circle" on demand;
``write_sample_library(dir, 40)`` fills a folder with photo-like pictures and returns what
is in each one.
"""

from __future__ import annotations

from clipdesk.training.augment import photograph
from clipdesk.training.captions import canonical_caption, training_caption
from clipdesk.training.library import SampleRecord, write_sample_library
from clipdesk.training.render import render_scene
from clipdesk.training.scene import BackgroundSpec, ObjectSpec, SceneSpec, sample_scene, scene_for
from clipdesk.training.vocab import COLOURS, HELD_OUT_PAIRS, SHAPES, vocabulary

__all__ = [
    "COLOURS",
    "HELD_OUT_PAIRS",
    "SHAPES",
    "BackgroundSpec",
    "ObjectSpec",
    "SampleRecord",
    "SceneSpec",
    "canonical_caption",
    "photograph",
    "render_scene",
    "sample_scene",
    "scene_for",
    "training_caption",
    "vocabulary",
    "write_sample_library",
]
