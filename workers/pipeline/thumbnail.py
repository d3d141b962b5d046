"""Thumbnails as JPEG bytes: made at ingest from the decoded image, checked when a worker hands one in,
shrunk when a smaller one is asked for. Pure functions on bytes and PIL images (storage: ``ThumbnailStore``).

The image route serves only these bytes, never the source file again: what was ingested is what is shown,
whatever later happens to the file (a swap for a symlink) or to the point's payload (a forged ``source``).
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from services.core.errors import InvalidInput
from services.encoders.transforms import to_rgb
from workers.pipeline.decode import DecodedImage

MAX_SIDE = 1024
"""Largest thumbnail side accepted from a worker (the ``thumbnail_side`` setting's ceiling)."""

MAX_BYTES = 1024 * 1024
"""Largest thumbnail accepted from a worker: a 1024 px q85 JPEG of pure noise is about 0.6 MiB."""

QUALITY = 85


def _encode(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=QUALITY)
    return buf.getvalue()


def _fit(w: int, h: int, side: int) -> tuple[int, int]:
    """(w, h) scaled so the longest side is ``side`` (never enlarged), as ``Image.thumbnail`` rounds it."""
    if max(w, h) <= side:
        return w, h
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def make_thumbnail(decoded: DecodedImage, data: bytes, side: int) -> bytes:
    """A JPEG whose longest side is ``side`` px (or the image's own size, if smaller), from ``decoded``.

    ``decoded`` may be a JPEG the encoder draft-decoded at a reduced DCT scale (``decode_side``); when that
    left it smaller than the thumbnail wants (a small model's ``decode_side`` on a large photo), the bytes
    are decoded again at the thumbnail's own scale, so every thumbnail has its full ``side``. ``data`` was
    already checked by ``decode_image`` (size, bomb guard), so reopening it is safe.
    """
    img = decoded.image
    wanted = min(side, max(decoded.width, decoded.height))
    if max(img.size) < wanted:
        img = Image.open(io.BytesIO(data))
        # reducing_gap=1: draft at the smallest DCT scale whose longest side still reaches ``side`` (the
        # default 2 would decode twice as large), then resize the rest of the way.
        img.thumbnail((side, side), reducing_gap=1.0)
        return _encode(to_rgb(img))
    rgb = to_rgb(img)
    size = _fit(*rgb.size, side)
    if size != rgb.size:
        # A new image (not ``thumbnail`` in place): the caller's decoded image also feeds the encoder.
        rgb = rgb.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return _encode(rgb)


def check_thumbnail(data: bytes, max_side: int = MAX_SIDE, max_bytes: int = MAX_BYTES) -> bytes:
    """``data`` if it is a whole, decodable JPEG of at most ``max_bytes`` with sides <= ``max_side``.

    Raises ``InvalidInput`` otherwise: what a worker hands the API is stored and later served to users,
    so it must be a small image, not arbitrary bytes.
    """
    if not data:
        raise InvalidInput("thumbnail is empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"thumbnail is {len(data):,} bytes, over the limit of {max_bytes:,}")
    try:
        img = Image.open(io.BytesIO(data))
        if img.format != "JPEG":
            raise InvalidInput(f"thumbnail must be a JPEG, not {img.format or 'unknown data'}")
        w, h = img.size
        if max(w, h) > max_side:  # checked before decoding: no decompression bomb gets that far
            raise InvalidInput(f"thumbnail is {w}×{h} px, over the limit of {max_side} px a side")
        img.load()  # the whole image decodes: not truncated, not corrupt
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InvalidInput("thumbnail is not a decodable JPEG") from None
    return data


def shrink(data: bytes, side: int) -> bytes:
    """A stored thumbnail with its longest side at most ``side`` px; the same bytes if already that small."""
    img = Image.open(io.BytesIO(data))
    if max(img.size) <= side:
        return data
    img.thumbnail((side, side))
    return _encode(to_rgb(img))
