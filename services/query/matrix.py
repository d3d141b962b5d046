"""A collection's vectors as one in-memory matrix, for requests that score every point (plane, relative scores).

A scan reads the collection through ``VectorStore.scroll`` (seconds per 100k 512-d points); a matrix
product over the cached (n, d) float32 matrix takes milliseconds. The cache holds one matrix per
(collection, named vector), rows sorted by point id (so a seeded sample names the same points on every
replica), and is stale once the collection's point count moves, as for the modality means
(``services/query/modality.py``): a change that keeps the count is not noticed until it moves.

Memory is bounded: at most ``max_points`` rows over all cached matrices (least recently used go first);
a collection larger than that on its own is refused (``SIGNIFIER_LIMITS__MAX_CACHED_POINTS``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.core.errors import InvalidInput
from services.core.types import Vector
from services.query.scan import pages, vectors_of
from services.vectorstore.base import VectorStore

# How long a cached matrix is trusted before the point count is checked again (seconds).
RECHECK_S = 2.0


@dataclass(frozen=True)
class VectorMatrix:
    """Every point that has vector ``using``: ``ids[i]`` is row ``i`` of ``matrix`` (n, d), ids ascending."""

    using: str
    ids: tuple[str, ...]
    matrix: Vector
    points: int  # points in the collection when it was read (some may lack ``using``)

    index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)  # id → row

    def rows_of(self, ids: list[str]) -> np.ndarray:
        """Row indices of the given ids that are in the matrix (others are left out), in the order given."""
        return np.asarray([self.index[i] for i in ids if i in self.index], dtype=np.int64)


def sample_rows(n: int, size: int, seed: int) -> npt.NDArray[np.int64]:
    """``size`` of ``n`` row indices, ascending: all of them when ``n ≤ size``, else a seeded sample."""
    if n <= size:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)


def check_scan_size(store: VectorStore, collection: str, label: str, max_points: int) -> int:
    """The collection's point count; raises ``InvalidInput`` above ``max_points`` (the matrix must fit in memory)."""
    n = store.count(collection)
    if n > max_points:
        raise InvalidInput(
            f"collection {label!r} has {n:,} points; the plane and relative scores hold a collection's vectors "
            f"in memory, limited to {max_points:,} rows (SIGNIFIER_LIMITS__MAX_CACHED_POINTS)"
        )
    return n


def read_matrix(store: VectorStore, collection: str, using: str, label: str, max_points: int) -> VectorMatrix:
    """One scan of the collection: its ``using`` vectors as a matrix, rows sorted by id."""
    n = check_scan_size(store, collection, label, max_points)
    ids: list[str] = []
    blocks: list[Vector] = []
    for page in pages(store, collection):
        kept, x = vectors_of(page, using)
        if kept:
            ids.extend(p.id for p in kept)
            blocks.append(x)
    if not blocks:
        return VectorMatrix(using, (), np.zeros((0, 0), dtype=np.float32), n)
    order = np.argsort(np.asarray(ids))
    matrix = np.ascontiguousarray(np.concatenate(blocks)[order], dtype=np.float32)
    sorted_ids = tuple(ids[i] for i in order)
    return VectorMatrix(using, sorted_ids, matrix, n, {p: i for i, p in enumerate(sorted_ids)})


class VectorMatrices:
    """The process's cache of ``VectorMatrix`` per (store collection, vector name), LRU over ``max_points`` rows."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self._cache: OrderedDict[tuple[str, str], tuple[float, VectorMatrix]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one scan at a time: two requests for one collection share it

    def get(self, store: VectorStore, collection: str, using: str, label: str) -> VectorMatrix:
        key = (collection, using)
        cached = self._fresh(store, key)
        if cached is not None:
            return cached
        with self._loading:
            cached = self._fresh(store, key)
            if cached is not None:
                return cached
            m = read_matrix(store, collection, using, label, self.max_points)
            with self._lock:
                self._cache[key] = (time.monotonic(), m)
                self._cache.move_to_end(key)
                while sum(len(v[1].ids) for v in self._cache.values()) > self.max_points and len(self._cache) > 1:
                    self._cache.popitem(last=False)
            return m

    def _fresh(self, store: VectorStore, key: tuple[str, str]) -> VectorMatrix | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is None:
            return None
        checked, m = hit
        now = time.monotonic()
        if now - checked < RECHECK_S:
            return m
        if store.count(key[0]) != m.points:
            with self._lock:
                self._cache.pop(key, None)
            return None
        with self._lock:
            self._cache[key] = (now, m)
        return m
