"""Whole-collection scans (opposition histograms, modality means, classify jobs): paged, bounded.

A scan reads every point's vectors through ``VectorStore.scroll``; it costs about as much as reading
the collection once (seconds per 100k 512-d points), so it is refused above ``max_points``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from services.core.budget import check_time, heavy_turn
from services.core.errors import InvalidInput
from services.core.types import PointRecord, Vector
from services.vectorstore.base import VectorStore

PAGE = 1_024


def check_scan_size(store: VectorStore, collection: str, label: str, max_points: int) -> int:
    """The collection's point count; raises ``InvalidInput`` above ``max_points``."""
    n = store.count(collection)
    if n > max_points:
        raise InvalidInput(
            f"collection {label!r} has {n:,} points; whole-collection scans are limited to {max_points:,} "
            "(SIGNIFIER_LIMITS__MAX_SCAN_POINTS)"
        )
    return n


def pages(store: VectorStore, collection: str, with_vectors: bool = True) -> Iterator[list[PointRecord]]:
    """Every point of the collection, a page at a time.

    Within a request, the scan takes one of the few heavy-work turns for its whole length and stops
    (``TimeBudgetExceeded``) once the request is past its time budget; see ``services/core/budget.py``.
    """
    offset: str | None = None
    with heavy_turn("a whole-collection scan"):
        while True:
            check_time("scanning the collection")
            page, offset = store.scroll(collection, limit=PAGE, offset=offset, with_vectors=with_vectors)
            if page:
                yield page
            if offset is None:
                return


def vectors_of(page: list[PointRecord], using: str) -> tuple[list[PointRecord], Vector]:
    """The points of ``page`` that have vector ``using``, and those vectors as an (n, d) matrix."""
    kept = [p for p in page if using in p.vectors]
    if not kept:
        return [], np.zeros((0, 0), dtype=np.float32)
    return kept, np.stack([p.vectors[using] for p in kept]).astype(np.float32)
