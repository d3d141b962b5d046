"""The synthetic world shapes-clip is trained on: coloured shapes on backgrounds.

Every image shows one object described by four attributes — a colour, a shape, a size and a
background — and every caption names some or all of them. The words and their meanings are part
of the project's contract (tests assert on them), so keep them stable:

- colours: red, green, blue, yellow, purple, orange
- shapes: circle, square, triangle, star
- sizes: small (object spans ~18-24 % of the image side), large (~55-78 %)
- backgrounds: snow (near-white), forest (dark green, textured), desert (sand), night (dark navy)

Everything here is pure and seeded: the same ``random.Random`` state yields the same spec, the
same pixels and the same caption.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLORS: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple", "orange")
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
SIZES: tuple[str, ...] = ("small", "large")
BACKGROUNDS: tuple[str, ...] = ("snow", "forest", "desert", "night")

ATTRIBUTES: tuple[str, ...] = ("color", "shape", "size", "background")
"""Field names of :class:`ShapeSpec`, in caption order of importance."""

IMAGE_SIZE = 64
"""Side of the square images, in pixels."""

# Base RGB of each object colour; each render jitters it a little so the model learns a colour
# region rather than one exact value.
_COLOR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 35, 35),
    "green": (60, 200, 70),
    "blue": (40, 90, 235),
    "yellow": (245, 220, 40),
    "purple": (150, 55, 200),
    "orange": (250, 140, 25),
}

# Base RGB and texture strength (std of per-pixel noise) of each background.
_BACKGROUND_RGB: dict[str, tuple[tuple[int, int, int], float]] = {
    "snow": ((240, 243, 248), 5.0),
    "forest": ((30, 75, 35), 14.0),
    "desert": ((214, 186, 135), 8.0),
    "night": ((16, 22, 58), 5.0),
}

# Fraction of the image side the object spans, per size; "small" stays under a quarter and
# "large" over a half, with a wide gap so the word has one clear meaning.
_SIZE_SPAN: dict[str, tuple[float, float]] = {
    "small": (0.18, 0.24),
    "large": (0.55, 0.78),
}

# Squares, triangles and stars are tilted by up to this much. Mild on purpose: a square turned
# 45° reads as a diamond and an upside-down triangle as a different glyph, and a word should keep
# one visual meaning.
_MAX_ROTATION_DEG = 20.0

# Shapes are drawn on a supersampled mask and downscaled, which anti-aliases their edges.
_SUPERSAMPLE = 4


@dataclass(frozen=True, slots=True)
class ShapeSpec:
    """What one image shows: an object of a colour, shape and size on a background."""

    color: str
    shape: str
    size: str
    background: str

    def __post_init__(self) -> None:
        for name, allowed in zip(ATTRIBUTES, (COLORS, SHAPES, SIZES, BACKGROUNDS), strict=True):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; expected one of {allowed}")

    def as_dict(self) -> dict[str, str]:
        """The four attributes as a plain dict (manifest columns)."""
        return asdict(self)


def random_spec(rng: random.Random) -> ShapeSpec:
    """Draw a spec uniformly over all colour × shape × size × background combinations."""
    return ShapeSpec(
        color=rng.choice(COLORS),
        shape=rng.choice(SHAPES),
        size=rng.choice(SIZES),
        background=rng.choice(BACKGROUNDS),
    )


def _background(name: str, rng: random.Random, size: int) -> np.ndarray:
    """An (size, size, 3) float array of the textured background."""
    (r, g, b), noise = _BACKGROUND_RGB[name]
    nrng = np.random.default_rng(rng.getrandbits(63))
    base = np.array([r, g, b], dtype=np.float32) + nrng.normal(0.0, 6.0, size=3).astype(np.float32)
    img = np.broadcast_to(base, (size, size, 3)).copy()
    # Per-pixel grain, shared across channels so the texture doesn't tint the colour.
    img += nrng.normal(0.0, noise, size=(size, size, 1)).astype(np.float32)
    if name == "forest":
        # Blotchy low-frequency foliage: coarse noise upsampled, so the forest reads as textured
        # rather than flat green.
        coarse = Image.fromarray(nrng.normal(0.0, 18.0, size=(8, 8)).astype(np.float32), mode="F")
        blotch = np.asarray(coarse.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
        img += blotch[:, :, None] * np.array([0.5, 1.0, 0.5], dtype=np.float32)
    elif name == "desert":
        # Gentle horizontal dunes.
        phase = nrng.uniform(0.0, 2 * math.pi)
        rows = np.sin(np.arange(size, dtype=np.float32) / size * 2 * math.pi * 2 + phase) * 10.0
        img += rows[:, None, None]
    return img


def _shape_points(shape: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    """Polygon vertices for square, triangle and star, centred at (cx, cy)."""
    if shape == "square":
        # radius is the half-span; a square's corner sits at half-span · √2.
        corners = 4
        radii = [radius * math.sqrt(2)] * corners
    elif shape == "triangle":
        corners = 3
        radii = [radius * 1.15] * corners
    elif shape == "star":
        corners = 10
        radii = [radius * 1.1 if i % 2 == 0 else radius * 0.45 for i in range(corners)]
    else:  # pragma: no cover - guarded by ShapeSpec validation
        raise ValueError(shape)
    offset = math.pi / 4 if shape == "square" else -math.pi / 2
    return [
        (
            cx + radii[i] * math.cos(offset + angle + 2 * math.pi * i / corners),
            cy + radii[i] * math.sin(offset + angle + 2 * math.pi * i / corners),
        )
        for i in range(corners)
    ]


def _place(rng: random.Random, margin: float, size: int) -> float:
    """A centre coordinate that keeps the object ``margin`` px clear of the edges."""
    return rng.uniform(margin, size - margin)


def render(spec: ShapeSpec, rng: random.Random, size: int = IMAGE_SIZE) -> Image.Image:
    """Render ``spec`` as a ``size``×``size`` RGB image.

    Randomness (all from ``rng``): background tint and grain, object colour jitter, object span
    within its size band, position (always fully inside the frame) and a mild tilt (±20°) of
    squares, triangles and stars.
    """
    bg = _background(spec.background, rng, size)

    lo, hi = _SIZE_SPAN[spec.size]
    span = rng.uniform(lo, hi) * size
    radius = span / 2
    # Rotated polygons reach a little beyond the nominal radius; keep a margin so the object is
    # always whole.
    margin = radius * 1.2 + 1
    cx = _place(rng, margin, size)
    cy = _place(rng, margin, size)
    angle = math.radians(rng.uniform(-_MAX_ROTATION_DEG, _MAX_ROTATION_DEG))

    big = size * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    s = _SUPERSAMPLE
    if spec.shape == "circle":
        draw.ellipse([(cx - radius) * s, (cy - radius) * s, (cx + radius) * s, (cy + radius) * s], fill=255)
    else:
        points = _shape_points(spec.shape, cx * s, cy * s, radius * s, angle)
        draw.polygon(points, fill=255)
    alpha = np.asarray(mask.resize((size, size), Image.Resampling.BOX), dtype=np.float32)[:, :, None] / 255.0

    color = np.array(_COLOR_RGB[spec.color], dtype=np.float32)
    color += np.array([rng.uniform(-14, 14) for _ in range(3)], dtype=np.float32)
    # Mild shading across the object so it isn't a perfectly flat fill.
    shade = np.linspace(1.06, 0.94, size, dtype=np.float32)[:, None, None]
    obj = np.broadcast_to(color, (size, size, 3)) * shade

    out = bg * (1.0 - alpha) + obj * alpha
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), mode="RGB")


def _article(next_word: str) -> str:
    return "an" if next_word[0] in "aeiou" else "a"


def compose_caption(
    color: str | None = None,
    shape: str | None = None,
    size: str | None = None,
    background: str | None = None,
    noun: str = "shape",
) -> str:
    """English caption naming the given attributes, e.g. ``a large red circle in the forest``.

    Without a shape the generic ``noun`` ("shape" or "object") stands in, so a caption such as
    ``a red shape`` still reads naturally. With only a background it is ``in the snow``.
    """
    words = [w for w in (size, color) if w]
    if shape or words:
        words.append(shape or noun)
        phrase = f"{_article(words[0])} {' '.join(words)}"
        return f"{phrase} in the {background}" if background else phrase
    if background:
        return f"in the {background}"
    raise ValueError("a caption needs at least one attribute")


def full_caption(spec: ShapeSpec) -> str:
    """The caption naming all four attributes: ``a large red circle in the forest``."""
    return compose_caption(spec.color, spec.shape, spec.size, spec.background)


def caption_attributes(spec: ShapeSpec, rng: random.Random) -> dict[str, str]:
    """A random non-empty subset of the spec's attributes (the ones a caption will name).

    A quarter of the time all four; otherwise each attribute independently with probability ½
    (redrawn if none), so single words ("blue", "large") are common enough to carry their own
    meaning.
    """
    attrs = spec.as_dict()
    if rng.random() < 0.25:
        return attrs
    while True:
        chosen = {k: v for k, v in attrs.items() if rng.random() < 0.5}
        if chosen:
            return chosen


def caption_from_attributes(attrs: dict[str, str], rng: random.Random) -> str:
    """Render a chosen attribute subset as text, in one of a few phrasings.

    Phrasings: a full noun phrase (``a red circle in the snow``), bare words (``red``,
    ``large blue``, ``snow``), and occasionally a ``a photo of`` prefix or a trailing period.
    """
    color, shape = attrs.get("color"), attrs.get("shape")
    size, background = attrs.get("size"), attrs.get("background")
    if rng.random() < 0.35:
        # Bare words in canonical order: "large red", "circle snow", "blue".
        text = " ".join(w for w in (size, color, shape, background) if w)
    else:
        noun = rng.choice(("shape", "object"))
        text = compose_caption(color, shape, size, background, noun=noun)
        if background and not (color or shape or size) and rng.random() < 0.5:
            text = f"the {background}"
        if text.startswith(("a ", "an ")) and rng.random() < 0.1:
            text = f"a photo of {text}"
    if rng.random() < 0.1:
        text += "."
    return text


def random_caption(spec: ShapeSpec, rng: random.Random) -> str:
    """A random, possibly partial, caption true of ``spec``: ``red``, ``a circle in the snow``, …"""
    return caption_from_attributes(caption_attributes(spec, rng), rng)


def write_samples(
    out_dir: Path,
    count: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``count`` sample images to ``out_dir`` and return their paths.

    Files: ``shape_00000.png`` with its alt-text sidecar ``shape_00000.txt`` (the full caption),
    and ``manifest.jsonl`` with one row per image: ``path`` (the file name, relative to
    ``out_dir``), ``alt_text``, ``color``, ``shape``, ``size``, ``background``. ``progress`` is
    called with the number of images written so far after each one.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths: list[Path] = []
    rows: list[str] = []
    for i in range(count):
        spec = random_spec(rng)
        image = render(spec, rng)
        caption = full_caption(spec)
        path = out_dir / f"shape_{i:05d}.png"
        image.save(path, format="PNG")
        path.with_suffix(".txt").write_text(caption + "\n", encoding="utf-8")
        rows.append(json.dumps({"path": path.name, "alt_text": caption, **spec.as_dict()}))
        paths.append(path)
        if progress is not None:
            progress(i + 1)
    (out_dir / "manifest.jsonl").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    return paths
