"""Modality-gap awareness: per-collection means and covariances of the ``image`` and ``text`` vectors.

CLIP's image and text embeddings sit on two narrow cones. Searched over images, an image term's
scores spread widely (image–image cosines run from ~0 to 1) while a text term's barely move
(image–text cosines stay within a few hundredths of each other), so in ``upload(0) + "blue"`` the
image term decides the ranking whatever the weights say. ``center: true`` (``Centring``) takes each
leaf term ``t`` of modality ``m`` to ``(t − μ_m) / σ``: the modality's collection mean is subtracted,
and the result is scaled so that its scores over the searched vectors have unit standard deviation,
``σ = sqrt((t − μ_m)ᵀ C (t − μ_m))`` with ``C`` the covariance of those vectors. Each term then moves
the ranking as much as its weight says, whatever its modality.

Means and covariances are computed lazily, by one scan of the collection, and cached (in memory and in
the ``query_modality_means`` table) together with the collection's point count: a count that changed
means the cache is stale and the next centred query scans again. A change that keeps the count
(delete one point, add another) is not noticed until the count moves; ``refresh`` forces a scan.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.errors import InvalidInput
from services.core.types import VECTOR_NAMES, Vector
from services.query.models import ModalityMeanRow
from services.query.scan import PAGE, scan
from services.vectorstore.base import VectorStore

# How long a cached mean is trusted before the point count is checked again (seconds).
RECHECK_S = 5.0


@dataclass(frozen=True)
class ModalityMean:
    """One named vector's statistics: ``mean`` (d,), not unit (its norm is the cone's tightness), and
    ``cov`` (d, d), the covariance of the vectors (float32)."""

    vector: str
    mean: Vector
    cov: Vector
    count: int  # points that have this vector
    points: int  # points in the collection when it was taken


class MeanAccumulator:
    """Running float64 sums of each named vector and of its outer products, over pages of points."""

    def __init__(self) -> None:
        self.sums: dict[str, np.ndarray] = {}
        self.outer: dict[str, np.ndarray] = {}
        self.counts: dict[str, int] = {}

    def add(self, name: str, x: Vector) -> None:
        """Add an (n, d) block of vector ``name``."""
        x64 = np.asarray(x, dtype=np.float64)
        if name not in self.sums:
            self.sums[name] = np.zeros(x64.shape[1])
            self.outer[name] = np.zeros((x64.shape[1], x64.shape[1]))
        self.sums[name] += x64.sum(axis=0)
        self.outer[name] += x64.T @ x64
        self.counts[name] = self.counts.get(name, 0) + len(x64)

    def result(self, points: int) -> dict[str, ModalityMean]:
        out = {}
        for name, s in self.sums.items():
            n = self.counts[name]
            mean = s / n
            cov = self.outer[name] / n - np.outer(mean, mean)
            out[name] = ModalityMean(name, mean.astype(np.float32), cov.astype(np.float32), n, points)
        return out


def compute_means(
    store: VectorStore, collection: str, max_exact: int, page_size: int = PAGE
) -> dict[str, ModalityMean]:
    """The mean and covariance of each named vector present, from one streamed scan of the collection (of a
    uniform sample of ``max_exact`` points when it has more: the mean's error is then about σ/√max_exact)."""
    acc = MeanAccumulator()
    batches, coverage = scan(store, collection, max_exact, page_size=page_size)
    for page in batches:
        for name in VECTOR_NAMES:
            rows = [p.vectors[name] for p in page if name in p.vectors]
            if rows:
                acc.add(name, np.stack(rows))
    return acc.result(coverage.points)


def gap(image_mean: Vector, text_mean: Vector) -> dict[str, float]:
    """How far apart the two cones are: cosine of the means, distance between them, their norms."""
    a = np.asarray(image_mean, dtype=np.float64)
    b = np.asarray(text_mean, dtype=np.float64)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    cosine = float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
    return {"cosine": cosine, "distance": float(np.linalg.norm(a - b)), "image_norm": na, "text_norm": nb}


class ModalityMeans:
    """Cached means per collection (keyed by the registry's collection id)."""

    def __init__(self, sessions: sessionmaker[Session], max_points: int) -> None:
        """``max_points``: collections up to this size are read whole, larger ones through a uniform sample."""
        self.sessions = sessions
        self.max_points = max_points
        self._memory: dict[str, tuple[float, dict[str, ModalityMean]]] = {}
        self._lock = threading.Lock()
        self._scan_locks: dict[str, threading.Lock] = {}

    def get(
        self, store: VectorStore, collection_id: str, store_name: str, label: str, refresh: bool = False
    ) -> dict[str, ModalityMean]:
        """The collection's means, scanning it when the cache is stale. Raises ``InvalidInput`` if empty."""
        now = time.monotonic()
        with self._lock:
            cached = self._memory.get(collection_id)
            scan_lock = self._scan_locks.setdefault(collection_id, threading.Lock())
        if cached is not None and not refresh and now - cached[0] < RECHECK_S:
            return cached[1]
        with scan_lock:  # one scan at a time per collection; the others wait and reuse it
            points = store.count(store_name)
            means = None if refresh else self._fresh(collection_id, points)
            if means is None:
                if points == 0:
                    raise InvalidInput(f"collection {label!r} is empty: it has no mean vectors to centre with")
                means = compute_means(store, store_name, self.max_points)
                self._save(collection_id, means)
            with self._lock:
                self._memory[collection_id] = (time.monotonic(), means)
            return means

    def _fresh(self, collection_id: str, points: int) -> dict[str, ModalityMean] | None:
        with self._lock:
            cached = self._memory.get(collection_id)
        if cached is not None and _points(cached[1]) == points:
            return cached[1]
        with self.sessions() as s:
            rows = list(s.scalars(select(ModalityMeanRow).where(ModalityMeanRow.collection_id == collection_id)))
        if not rows or any(r.points != points for r in rows):
            return None
        out = {}
        for r in rows:
            mean = np.frombuffer(r.mean, dtype="<f4").copy()
            cov = np.frombuffer(r.cov, dtype="<f4").reshape(len(mean), len(mean)).copy()
            out[r.vector] = ModalityMean(r.vector, mean, cov, r.count, r.points)
        return out

    def _save(self, collection_id: str, means: dict[str, ModalityMean]) -> None:
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as s:
            s.execute(delete(ModalityMeanRow).where(ModalityMeanRow.collection_id == collection_id))
            for m in means.values():
                s.add(
                    ModalityMeanRow(
                        collection_id=collection_id,
                        vector=m.vector,
                        points=m.points,
                        count=m.count,
                        mean=m.mean.astype("<f4").tobytes(),
                        cov=m.cov.astype("<f4").tobytes(),
                        updated_at=now,
                    )
                )


def _points(means: dict[str, ModalityMean]) -> int:
    return next(iter(means.values())).points if means else -1


@dataclass(frozen=True)
class Centring:
    """What ``center: true`` needs: each modality's mean, and the covariance of the searched vectors."""

    means: dict[str, Vector]
    cov: Vector  # (d, d) covariance of the vectors searched (``using``)


def centring(means: dict[str, ModalityMean], using: str, label: str) -> Centring:
    if using not in means:
        raise InvalidInput(f"collection {label!r} has no {using} vectors to centre against")
    return Centring({name: m.mean for name, m in means.items()}, means[using].cov)
