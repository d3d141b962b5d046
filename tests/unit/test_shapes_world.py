"""The synthetic shapes world: determinism, captions, sample files, sizes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from services.shapes.world import (
    BACKGROUNDS,
    COLORS,
    SHAPES,
    SIZES,
    ShapeSpec,
    compose_caption,
    full_caption,
    random_caption,
    random_spec,
    render,
    write_samples,
)

ALL_WORDS = set(COLORS) | set(SHAPES) | set(SIZES) | set(BACKGROUNDS)


def _words(text: str) -> set[str]:
    return set(text.rstrip(".").split())


def test_vocabulary_is_the_contract() -> None:
    assert COLORS == ("red", "green", "blue", "yellow", "purple", "orange")
    assert SHAPES == ("circle", "square", "triangle", "star")
    assert SIZES == ("small", "large")
    assert BACKGROUNDS == ("snow", "forest", "desert", "night")


def test_spec_rejects_unknown_values() -> None:
    with pytest.raises(ValueError):
        ShapeSpec("pink", "circle", "small", "snow")


def test_same_seed_same_world() -> None:
    def sample(seed: int) -> tuple[list[ShapeSpec], list[bytes], list[str]]:
        rng = random.Random(seed)
        specs = [random_spec(rng) for _ in range(5)]
        images = [render(s, rng).tobytes() for s in specs]
        captions = [random_caption(s, rng) for s in specs]
        return specs, images, captions

    assert sample(3) == sample(3)
    assert sample(3) != sample(4)


def test_render_is_64px_rgb() -> None:
    image = render(ShapeSpec("red", "star", "large", "night"), random.Random(0))
    assert image.size == (64, 64)
    assert image.mode == "RGB"


def test_full_caption() -> None:
    assert full_caption(ShapeSpec("red", "circle", "large", "forest")) == "a large red circle in the forest"
    assert compose_caption(color="orange", shape="star") == "an orange star"
    assert compose_caption(shape="circle", background="snow") == "a circle in the snow"
    assert compose_caption(color="red") == "a red shape"


def test_random_captions_only_name_true_attributes() -> None:
    rng = random.Random(0)
    seen_partial = False
    for _ in range(300):
        spec = random_spec(rng)
        caption = random_caption(spec, rng)
        named = _words(caption) & ALL_WORDS
        assert named, caption
        assert named <= set(spec.as_dict().values()), (caption, spec)
        seen_partial |= len(named) < 4
    assert seen_partial


def test_single_word_captions_occur() -> None:
    rng = random.Random(1)
    captions = {random_caption(random_spec(rng), rng) for _ in range(2000)}
    for word in ("red", "large", "circle", "snow"):
        assert word in captions


def test_write_samples(tmp_path: Path) -> None:
    seen: list[int] = []
    paths = write_samples(tmp_path, 500, seed=5, progress=seen.append)
    assert len(paths) == 500 and seen[-1] == 500
    assert paths[0].name == "shape_00000.png"
    assert all(p.exists() and p.with_suffix(".txt").exists() for p in paths)
    rows = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 500
    first = rows[0]
    assert set(first) == {"path", "alt_text", "color", "shape", "size", "background"}
    assert (tmp_path / first["path"]).exists()
    assert paths[0].with_suffix(".txt").read_text().strip() == first["alt_text"]
    spec = ShapeSpec(first["color"], first["shape"], first["size"], first["background"])
    assert first["alt_text"] == full_caption(spec)
    # Deterministic per seed.
    again = write_samples(tmp_path / "again", 3, seed=5)
    assert again[0].read_bytes() == paths[0].read_bytes()


def _object_pixels(spec: ShapeSpec, seed: int) -> int:
    """Pixels of the (red) object: strongly red, unlike any background."""
    assert spec.color == "red"
    arr = np.asarray(render(spec, random.Random(seed)), dtype=np.int32)
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    return int(((r > 150) & (g < 110) & (b < 110)).sum())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("background", BACKGROUNDS)
def test_large_objects_are_larger(shape: str, background: str) -> None:
    for seed in range(3):
        small = _object_pixels(ShapeSpec("red", shape, "small", background), seed)
        large = _object_pixels(ShapeSpec("red", shape, "large", background), seed)
        assert small > 0
        assert large > 4 * small
        # small spans under a quarter of the side, large over half: generous area bounds.
        assert small < 300
        assert large > 350
