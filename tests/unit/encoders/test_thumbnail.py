"""Thumbnails made at ingest from the decoded image, checked when a worker hands one in, shrunk to serve."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from services.core.errors import InvalidInput
from services.encoders.decode import decode_image
from services.encoders.thumbnail import check_thumbnail, make_thumbnail, shrink


def _jpeg(w: int, h: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], axis=-1)
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def _reference(data: bytes, side: int) -> np.ndarray:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img.thumbnail((side, side))
    return np.asarray(img, dtype=np.float32)


@pytest.mark.parametrize("draft_side", [None, 448])
def test_thumbnail_has_the_full_side_when_the_draft_allows(draft_side: int | None) -> None:
    data = _jpeg(2000, 1500)
    thumb = make_thumbnail(decode_image(data, 64_000_000, draft_side), 256)
    out = _pixels(thumb)
    assert out.shape == (192, 256, 3)
    assert np.abs(out - _reference(data, 256)).mean() < 6  # the same picture, up to resampling and JPEG


def test_a_small_models_draft_is_not_decoded_again() -> None:
    data = _jpeg(2000, 1500)  # drafted for 128 px this decodes at 1/8: 250×188, under 256
    decoded = decode_image(data, 64_000_000, 128)
    out = _pixels(make_thumbnail(decoded, 256))
    assert out.shape == (188, 250, 3)  # the draft's size: one decode per image, never two
    assert np.abs(out - _reference(data, 250)).mean() < 6


def test_thumbnail_leaves_the_encoders_image_alone_and_never_enlarges() -> None:
    data = _jpeg(100, 60)
    decoded = decode_image(data, 64_000_000, 128)
    before = decoded.image.copy()
    assert Image.open(io.BytesIO(make_thumbnail(decoded, 256))).size == (100, 60)
    assert decoded.image.size == before.size and np.array_equal(np.asarray(decoded.image), np.asarray(before))


def test_transparent_png_is_flattened_on_white() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(buf, format="PNG")
    data = buf.getvalue()
    thumb = _pixels(make_thumbnail(decode_image(data, 64_000_000), 256))
    assert thumb.mean() > 240


def test_check_accepts_a_small_jpeg_and_refuses_anything_else() -> None:
    good = _jpeg(256, 192)
    assert check_thumbnail(good) == good
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    cases = {
        b"": "empty",
        b"not an image": "not a decodable JPEG",
        png.getvalue(): "must be a JPEG",
        good[: len(good) // 2]: "not a decodable JPEG",  # truncated
        _jpeg(1100, 20): "over the limit",
        b"\xff\xd8" + b"\0" * (2 * 1024 * 1024): "over the limit",
    }
    for data, message in cases.items():
        with pytest.raises(InvalidInput, match=message):
            check_thumbnail(data)


def test_shrink_scales_down_and_serves_as_stored_when_asked_for_more() -> None:
    stored = make_thumbnail(decode_image(_jpeg(640, 480), 64_000_000), 256)
    assert Image.open(io.BytesIO(shrink(stored, 64))).size == (64, 48)
    assert shrink(stored, 256) is stored and shrink(stored, 1024) is stored
