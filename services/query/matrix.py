"""A collection's vectors as one in-memory matrix, for requests that score every point (plane, relative scores).

A scan reads the collection through ``VectorStore.scroll`` (seconds per 100k 512-d points); a matrix
product over the cached (n, d) float32 matrix takes milliseconds. The cache holds one matrix per
(collection, named vector), rows sorted by point id (so a seeded sample names the same points on every
replica), and is stale once the collection's point count moves, as for the modality means
(``services/query/modality.py``): a change that keeps the count is not noticed until it moves.

Memory is bounded: at most ``max_points`` rows over all cached matrices (least recently used go first).
A collection larger than that on its own is not cached: ``stream_scores`` streams its vectors through the
request a page at a time instead, keeping only an id and a few scores per point (rows sorted by id, as in
the matrix, so both ways give the same rows, the same samples and the same numbers).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

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


def read_matrix(store: VectorStore, collection: str, using: str) -> VectorMatrix:
    """One scan of the collection: its ``using`` vectors as a matrix, rows sorted by id."""
    n = store.count(collection)
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


@dataclass(frozen=True)
class StreamedScores:
    """``scores[i]`` (a row of k values) of the point ``ids[i]``, ids ascending, from one streamed scan."""

    ids: tuple[str, ...]
    scores: npt.NDArray[np.float64]
    points: int

    def rows_of(self, ids: list[str]) -> np.ndarray:
        """Row indices of the given ids that were scored (others are left out), in the order given."""
        index = {p: i for i, p in enumerate(self.ids)}
        return np.asarray([index[i] for i in ids if i in index], dtype=np.int64)


def stream_scores(
    store: VectorStore, collection: str, using: str, score: Callable[[Vector], npt.ArrayLike]
) -> StreamedScores:
    """``score`` (an (m, d) page of ``using`` vectors → (m, k) values) over every point, a page at a time;
    memory: the ids and k values per point, and one page of vectors."""
    n = store.count(collection)
    ids: list[str] = []
    blocks: list[npt.NDArray[np.float64]] = []
    for page in pages(store, collection):
        kept, x = vectors_of(page, using)
        if kept:
            ids.extend(p.id for p in kept)
            values = np.asarray(score(x), dtype=np.float64)
            blocks.append(values.reshape(len(kept), -1))
    if not blocks:
        return StreamedScores((), np.zeros((0, 0)), n)
    order = np.argsort(np.asarray(ids))
    return StreamedScores(tuple(ids[i] for i in order), np.concatenate(blocks)[order], n)


class VectorMatrices:
    """The process's cache of ``VectorMatrix`` per (store collection, vector name), LRU over ``max_points`` rows."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self._cache: OrderedDict[tuple[str, str], tuple[float, VectorMatrix]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one scan at a time: two requests for one collection share it

    def get(self, store: VectorStore, collection: str, using: str) -> VectorMatrix | None:
        """The collection's cached matrix (read now if need be); None when it has more than ``max_points``
        points, too many to hold: the caller streams it (``stream_scores``)."""
        key = (collection, using)
        cached = self._fresh(store, key)
        if cached is not None:
            return cached
        if store.count(collection) > self.max_points:
            return None
        with self._loading:
            cached = self._fresh(store, key)
            if cached is not None:
                return cached
            m = read_matrix(store, collection, using)
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
