"""Whole-collection scans (opposition histograms, modality means, classify jobs): streamed, any size.

A scan reads points' vectors through ``VectorStore.scroll``, a page at a time, so its memory is one page
whatever the collection's size. Reading costs about a second per 100k 512-d points, so a request (inside its
time budget) reads every point only up to ``max_exact`` of them; above that it reads a uniform sample of
``max_exact`` points and says so (``Coverage``). Jobs (classify) stream the whole collection.

The sample is the points whose ids follow a random id in id order (wrapping around). Point ids are UUIDv5
hashes of the content (``services/ingest/ids.py``), so id order is unrelated to content and such a run of
ids is a uniform random sample, drawn without reading the rest.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from services.core.budget import check_time, heavy_turn
from services.core.types import PointRecord, Vector
from services.vectorstore.base import VectorStore

PAGE = 1_024
# Confidence of the stated sampling error bounds.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Coverage:
    """How much of a collection a scan read: all ``points``, or a uniform sample of ``scanned`` of them.

    ``cdf_error``: with probability ``CONFIDENCE``, the sample's empirical distribution function of any
    per-point statistic is within this much of the whole collection's, everywhere (the
    Dvoretzky–Kiefer–Wolfowitz bound, √(ln(2/α)/(2m))); 0 when every point was read.
    """

    points: int
    scanned: int

    @property
    def sampled(self) -> bool:
        return self.scanned < self.points

    @property
    def cdf_error(self) -> float:
        if not self.sampled or self.scanned == 0:
            return 0.0
        return math.sqrt(math.log(2 / (1 - CONFIDENCE)) / (2 * self.scanned))


def pages(
    store: VectorStore, collection: str, with_vectors: bool = True, page_size: int = PAGE
) -> Iterator[list[PointRecord]]:
    """Every point of the collection, ``page_size`` at a time.

    Within a request, the scan takes one of the few heavy-work turns for its whole length and stops
    (``TimeBudgetExceeded``) once the request is past its time budget; see ``services/core/budget.py``.
    """
    with heavy_turn("a whole-collection scan"):
        yield from _pages_from(store, collection, None, with_vectors, page_size)


def scan(
    store: VectorStore,
    collection: str,
    max_exact: int,
    *,
    page_size: int = PAGE,
    seed: int | None = None,
) -> tuple[Iterator[list[PointRecord]], Coverage]:
    """Pages of every point when the collection has at most ``max_exact``; else of a uniform sample of that many.

    ``seed`` fixes where the sample starts (tests); ``None`` draws it at random. The coverage is known before
    the first page is read (from the count), so callers can report it whatever they do with the pages.
    """
    n = store.count(collection)
    if n <= max_exact:
        return pages(store, collection, page_size=page_size), Coverage(n, n)
    start = uuid.UUID(bytes=np.random.default_rng(seed).bytes(16))
    return _sample(store, collection, start, max_exact, page_size), Coverage(n, max_exact)


def _sample(
    store: VectorStore, collection: str, start: uuid.UUID, m: int, page_size: int
) -> Iterator[list[PointRecord]]:
    """``m`` points with ids from ``start`` on in id order, wrapping around to the smallest id."""
    left = m
    with heavy_turn("a sampled collection scan"):
        for page in _pages_from(store, collection, str(start), True, min(page_size, m)):
            yield page[:left]
            left -= min(left, len(page))
            if not left:
                return
        for page in _pages_from(store, collection, None, True, min(page_size, left)):
            # The wrap-around part ends where the first part began (it is never read twice).
            page = [p for p in page if uuid.UUID(p.id) < start][:left]
            if page:
                yield page
            left -= len(page)
            if not left or len(page) < page_size:
                return


def _pages_from(
    store: VectorStore, collection: str, offset: str | None, with_vectors: bool, page_size: int
) -> Iterator[list[PointRecord]]:
    while True:
        check_time("scanning the collection")
        page, offset = store.scroll(collection, limit=page_size, offset=offset, with_vectors=with_vectors)
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
