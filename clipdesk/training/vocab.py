"""The closed world tiny-shapes is trained on: shape and colour names, their palettes.

Colours are sampled around several anchors per name (CSS-like shades, e.g. both the dark
``green`` of web colours and the bright ``lime``) so that the model learns the colour word,
not one exact RGB value that another drawing program would never use.
"""

from __future__ import annotations

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "heart")
COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple", "orange", "white", "black")

PLURALS: dict[str, str] = {
    "circle": "circles",
    "square": "squares",
    "triangle": "triangles",
    "star": "stars",
    "heart": "hearts",
}

NUMBER_WORDS: dict[int, str] = {1: "one", 2: "two", 3: "three"}

# Colour-shape pairs that never appear in training images or captions: the held-out
# compositional test asks whether the model composes a colour and a shape it only ever
# saw apart. Chosen so each colour and shape is held out at most once.
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("purple", "star"), ("orange", "heart"), ("white", "triangle"), ("black", "circle")}
)

# Anchor RGB values per colour name; samples are jittered around one of them.
PALETTE: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": (
        (255, 0, 0),
        (220, 20, 30),
        (200, 30, 40),
        (178, 34, 34),
        (220, 20, 60),
        (190, 0, 0),
        (230, 60, 50),
        (210, 45, 45),
    ),
    "green": (
        (0, 128, 0),
        (0, 200, 0),
        (34, 139, 34),
        (50, 205, 50),
        (0, 255, 0),
        (46, 160, 67),
        (60, 179, 113),
        (46, 139, 87),
        (0, 160, 80),
        (90, 190, 60),
    ),
    "blue": (
        (0, 0, 255),
        (30, 60, 220),
        (0, 90, 200),
        (65, 105, 225),
        (30, 144, 255),
        (0, 0, 160),
        (70, 130, 180),
        (100, 149, 237),
        (20, 110, 190),
        (0, 60, 140),
    ),
    "yellow": (
        (255, 255, 0),
        (255, 215, 0),
        (250, 220, 40),
        (240, 230, 60),
        (255, 235, 59),
        (255, 255, 102),
        (238, 210, 10),
        (250, 200, 20),
    ),
    "purple": (
        (128, 0, 128),
        (148, 0, 211),
        (138, 43, 226),
        (160, 32, 240),
        (120, 40, 160),
        (147, 112, 219),
        (186, 85, 211),
        (102, 51, 153),
        (140, 80, 180),
    ),
    "orange": (
        (255, 165, 0),
        (255, 140, 0),
        (245, 120, 20),
        (255, 127, 39),
        (230, 110, 0),
        (243, 156, 18),
        (250, 130, 50),
        (235, 100, 20),
    ),
    "white": ((255, 255, 255), (245, 245, 245), (235, 235, 235), (250, 248, 240), (248, 248, 255)),
    "black": ((0, 0, 0), (20, 20, 20), (35, 35, 35), (10, 10, 25), (48, 48, 48), (28, 28, 40)),
}

# Named plain backgrounds a caption may mention, with their anchor shades.
BACKGROUND_PALETTE: dict[str, tuple[tuple[int, int, int], ...]] = {
    "white": ((255, 255, 255), (245, 245, 240), (238, 238, 238)),
    "gray": ((128, 128, 128), (160, 160, 160), (100, 100, 100), (190, 190, 190)),
    "black": ((0, 0, 0), (25, 25, 25), (40, 40, 45)),
    "beige": ((245, 245, 220), (240, 230, 200), (225, 210, 180)),
    "light blue": ((173, 216, 230), (200, 225, 245), (176, 196, 222)),
    "pink": ((255, 192, 203), (250, 210, 220), (240, 180, 200)),
    "dark blue": ((10, 20, 80), (25, 35, 100)),
    "green": ((0, 128, 0), (40, 110, 60)),
}


def vocabulary() -> list[str]:
    """Tags the model knows, for auto-tagging: the shapes, then the colours."""
    return [*SHAPES, *COLOURS]
