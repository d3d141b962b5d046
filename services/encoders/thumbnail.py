"""Thumbnails as JPEG bytes: made at ingest from the decoded image, checked when a worker hands one in,
shrunk when a smaller one is asked for. Pure functions on bytes and PIL images (storage: ``ThumbnailStore``).

The image route serves only these bytes, never the source file again: what was ingested is what is shown,
whatever later happens to the file (a swap for a symlink) or to the point's payload (a forged ``source``).
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from services.core.errors import InvalidInput
from services.encoders.decode import DecodedImage
from services.encoders.transforms import to_rgb

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


def make_thumbnail(decoded: DecodedImage, side: int) -> bytes:
    """A JPEG whose longest side is ``side`` px, or less, from the image the encoder decoded.

    A JPEG is draft-decoded at a reduced DCT scale for the model (``decode_side``: both sides at least
    twice the model's input), and the thumbnail is made from that same decode, never a second one: for
    CLIP-sized models (``decode_side`` 448) it has its full ``side``; for a model with a smaller input
    (the bundled shapes-clip, 128) a large photo's thumbnail is as large as that draft (128–256 px).
    Decoding the photo again at the thumbnail's scale halved shapes-clip's ingest rate
    (bench/ingest.py: 3.0× the notebook loop → 1.5×).
    """
    rgb = to_rgb(decoded.image)
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
