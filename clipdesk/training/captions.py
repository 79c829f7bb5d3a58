"""Captions for scenes: one canonical sentence, and many phrasings for training.

Training sees whole descriptions and partial ones (only the shape, only the colour), in the
wordings people type into a search box, so that short zero-shot prompts like "a photo of a
star" or "a red shape" land near the right pictures.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from clipdesk.training.scene import SceneSpec
from clipdesk.training.vocab import NUMBER_WORDS, PLURALS

WRAPPERS: tuple[str, ...] = (
    "{}",
    "{}",
    "a photo of {}",
    "a picture of {}",
    "an image of {}",
    "a drawing of {}",
    "a photograph of {}",
    "a close-up photo of {}",
    "there is {}",
    "{} in the picture",
)
SHAPE_ONLY: tuple[str, ...] = (
    "a {}",
    "a photo of a {}",
    "a drawing of a {}",
    "a picture of a {}",
    "a {} shape",
    "the shape of a {}",
    "{}",
    "an image of a {}",
)
COLOUR_ONLY: tuple[str, ...] = (
    "a {} shape",
    "something {}",
    "a {} object",
    "a photo of something {}",
    "a {} thing",
    "the colour {}",
    "the color {}",
    "{}",
    "a {} colored shape",
    "a shape that is {}",
)


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def noun_phrase(colour: str | None, shape: str, count: int = 1, size: str | None = None) -> str:
    """'a small red circle', 'two blue squares', 'an orange star'."""
    words = [w for w in (size, colour) if w]
    if count == 1:
        head = " ".join([*words, shape])
        return f"{article(head)} {head}"
    return " ".join([NUMBER_WORDS[count], *words, PLURALS[shape]])


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def describe_objects(spec: SceneSpec, *, sizes: bool = True) -> str:
    """The objects as one phrase, identical objects grouped: 'two red circles and a star'."""
    groups: Counter[tuple[str, str, str | None]] = Counter()
    order: list[tuple[str, str, str | None]] = []
    for o in spec.objects:
        key = (o.colour, o.shape, o.size_word if sizes else None)
        if key not in groups:
            order.append(key)
        groups[key] += 1
    if sizes and len({(c, s) for c, s, _ in order}) < len(order):  # a group, mixed sizes
        return describe_objects(spec, sizes=False)
    return _join([noun_phrase(c, s, groups[(c, s, z)], z) for c, s, z in order])


def canonical_caption(spec: SceneSpec) -> str:
    """The one caption stored with a sample: objects, and a plain background's colour."""
    text = describe_objects(spec)
    if spec.background.kind == "plain" and spec.background.name:
        text += f" on a {spec.background.name} background"
    return text


def short_caption(spec: SceneSpec, rng: np.random.Generator) -> str:
    """Bare words, as typed into a search box: 'circle', 'red circle', 'red', 'red circle
    and blue star'.

    Besides being realistic queries, they matter for learning: in a freshly initialised
    text transformer the output of a long caption is mostly its shared words ('a photo
    of a ... on a ... background'), so captions that differ in one content word start out
    nearly identical and that word is learned late. Bare words differ from the start.
    """
    if len(spec.objects) == 1:
        o = spec.objects[0]
        r = rng.random()
        if r < 0.4:
            return o.shape
        if r < 0.8:
            return f"{o.colour} {o.shape}"
        return o.colour
    words = describe_objects(spec, sizes=False).split(" ")
    return " ".join(w for w in words if w not in ("a", "an"))


def warmup_caption(spec: SceneSpec, rng: np.random.Generator, shape_share: float = 0.6) -> str:
    """One attribute of a single-object scene, in one or two words: 'circle', 'a circle'
    or 'red'.

    Used first in training. Colour is what a fresh image encoder sees most easily, and a
    fresh text encoder barely tells 'a photo of a red circle' from 'a photo of a red
    square'; with both attributes in every caption the towers settle on colour and learn
    shape very late (and with shape alone they learn to ignore colour). Captions naming
    one attribute at a time give both a signal the towers can pick up at once.
    """
    o = spec.objects[0]
    if rng.random() < shape_share:
        return o.shape if rng.random() < 0.7 else f"a {o.shape}"
    return o.colour


def partial_caption(spec: SceneSpec, rng: np.random.Generator) -> str:
    """One object of a scene, named in whole or in part: 'a photo of a triangle',
    'something red', 'a red star'.

    Captions of real photos name what is salient, rarely everything; and a zero-shot tag
    asks exactly this ("is there a triangle?"). Trained only on complete descriptions, a
    model matches "a triangle" to pictures of one triangle and scores a triangle among
    other shapes far lower.
    """
    o = spec.objects[rng.integers(len(spec.objects))]
    r = rng.random()
    if r < 0.4:
        return SHAPE_ONLY[rng.integers(len(SHAPE_ONLY))].format(o.shape)
    if r < 0.7:
        return COLOUR_ONLY[rng.integers(len(COLOUR_ONLY))].format(o.colour)
    return WRAPPERS[rng.integers(len(WRAPPERS))].format(noun_phrase(o.colour, o.shape))


def training_caption(
    spec: SceneSpec, rng: np.random.Generator, short: float = 0.2, partial: float = 0.0
) -> str:
    """A random phrasing of ``spec``: one of several objects with probability ``partial``,
    bare words with probability ``short``, else a sentence; single objects are sometimes
    named only in part."""
    if partial and len(spec.objects) > 1 and rng.random() < partial:
        return partial_caption(spec, rng)
    if rng.random() < short:
        return short_caption(spec, rng)
    r = rng.random()
    if len(spec.objects) == 1 and r < 0.3:
        o = spec.objects[0]
        if r < 0.15:
            text = SHAPE_ONLY[rng.integers(len(SHAPE_ONLY))].format(o.shape)
        else:
            text = COLOUR_ONLY[rng.integers(len(COLOUR_ONLY))].format(o.colour)
    else:
        text = describe_objects(spec, sizes=rng.random() < 0.5)
        if len(spec.objects) == 1 and rng.random() < 0.15:  # "red circle", no article
            text = text.split(" ", 1)[1]
        if spec.background.kind == "plain" and spec.background.name and rng.random() < 0.5:
            text += f" on a {spec.background.name} background"
        text = WRAPPERS[rng.integers(len(WRAPPERS))].format(text)
    if rng.random() < 0.3:
        text += "."
    return text
