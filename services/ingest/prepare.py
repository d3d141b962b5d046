"""The decode stage: load an item's bytes, decode, preprocess. Runs in a thread pool, overlapping inference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from services.core.errors import SignifierError
from services.core.settings import Limits
from services.encoders.decode import content_hash, decode_image, read_file
from services.encoders.thumbnail import make_thumbnail
from services.sources.items import FailedItem, PreparedItem, SourceItem

Preprocess = Callable[[object], npt.NDArray[np.float32]]
FetchUrl = Callable[[str], bytes]


def _no_urls(url: str) -> bytes:
    raise SignifierError("URL sources are not enabled on this server (no fetcher configured)")


def load_bytes(item: SourceItem, limits: Limits, fetch_url: FetchUrl = _no_urls) -> bytes:
    if item.kind == "bytes":
        if item.data is None:
            raise SignifierError("item has no data")
        return item.data
    if item.kind == "url":
        return fetch_url(item.source)
    if item.grant is not None:
        return item.grant.read_bytes(item.source, limits.max_upload_bytes)
    return read_file(item.source, limits.max_upload_bytes)


def prepare(
    item: SourceItem,
    preprocess: Preprocess,
    limits: Limits,
    fetch_url: FetchUrl = _no_urls,
    draft_side: int | None = None,
    thumbnail_side: int = 0,
) -> PreparedItem | FailedItem:
    """Load, decode and preprocess one item, and make its thumbnail (``thumbnail_side`` > 0) from the same
    decoded image; any problem becomes a ``FailedItem`` with its reason."""
    try:
        data = load_bytes(item, limits, fetch_url)
        decoded = decode_image(data, limits.max_image_pixels, draft_side)
        pixels = preprocess(decoded.image)
        thumbnail = make_thumbnail(decoded, thumbnail_side) if thumbnail_side > 0 else None
    except SignifierError as exc:
        return FailedItem(item.source, exc.message)
    except Exception as exc:
        return FailedItem(item.source, f"unexpected error while decoding: {type(exc).__name__}: {exc}")
    return PreparedItem(item, content_hash(data), pixels, decoded.width, decoded.height, thumbnail)
