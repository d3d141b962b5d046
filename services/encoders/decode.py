"""Loading bytes and decoding images safely: size caps, decompression-bomb and truncation guards."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from services.core.errors import ImageError, InvalidInput, PayloadTooLarge

# PIL's own bomb check fires only at twice MAX_IMAGE_PIXELS; we check the header size ourselves
# against the configured limit before any pixel is decoded, so this global stays as a backstop.
Image.MAX_IMAGE_PIXELS = 200_000_000


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image
    width: int
    height: int
    format: str | None


def read_file(path: str | Path, max_bytes: int) -> bytes:
    """The file's bytes; refuses files over ``max_bytes`` before reading them."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise ImageError(f"file not found: {p}") from None
    except OSError as exc:
        raise ImageError(f"cannot read {p}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise PayloadTooLarge(f"file is {size:,} bytes, over the limit of {max_bytes:,} bytes")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read {p}: {exc.strerror or exc}") from None


def content_hash(data: bytes) -> str:
    """SHA-256 of the raw bytes, hex: the basis of idempotent point ids."""
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, max_pixels: int, draft_side: int | None = None) -> DecodedImage:
    """Decode image bytes (first frame of animations) into an RGB-ready PIL image.

    ``draft_side``: a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that keeps both sides
    at least this long — several times less work for a web-sized photo bound for a 224 px model (the
    encoder's ``decode_side``). ``width``/``height`` stay the original size. The whole file is still
    read, so truncation is still caught.

    Raises ``ImageError`` with a precise reason for empty, non-image, truncated or oversized input.
    """
    if not data:
        raise ImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(
                    f"image is {w}×{h} = {w * h:,} pixels, over the limit of {max_pixels:,} (decompression-bomb guard)"
                )
            fmt = img.format
            img.seek(0)  # GIF/WebP animations: the first frame
            if draft_side and fmt == "JPEG":
                img.draft("RGB", (draft_side, draft_side))
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image refused by the decompression-bomb guard: {exc}") from None
    except UnidentifiedImageError:
        raise ImageError("not an image, or a format this server cannot read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # PIL reports truncated and corrupt data as OSError ("image file is truncated") or SyntaxError.
        raise ImageError(f"corrupt or truncated image: {exc}") from None
    return DecodedImage(image=img, width=w, height=h, format=fmt)


def decode_base64_image(
    data: str, max_bytes: int, max_pixels: int, label: str = "image", draft_side: int | None = None
) -> Image.Image:
    """A PIL image from base64 (a ``data:`` URL prefix is allowed), with the size and bomb guards of
    ``decode_image``; ``label`` names the input in error messages (``images[2]``)."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    if len(data) * 3 // 4 > max_bytes:
        raise PayloadTooLarge(f"{label} is over the limit of {max_bytes:,} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{label} is not valid base64") from None
    try:
        return decode_image(raw, max_pixels, draft_side).image
    except ImageError as exc:
        raise ImageError(f"{label}: {exc.message}") from None
