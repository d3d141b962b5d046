"""Shared by the map and duplicates job tests: a small collection with near and exact duplicates in a real
Qdrant Edge store, results kept in memory, progress recorded."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np

from services.core.types import PointRecord, l2_normalize
from services.jobs.results import JobResults
from services.sources.items import FailedItem
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore

DIM = 16


class MemoryResults(JobResults):
    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []

    def save(self, job_id: str, collection_id: str, kind: str, points: int, data: dict[str, Any]) -> None:
        self.saved.append({**data, "points": points})


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[int, int]] = []

    def progress(
        self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float], skipped: int = 0
    ) -> None:
        self.batches.append((batch, done))

    def cancelled(self) -> bool:
        return False


def points(seed: int = 0) -> np.ndarray:
    """Clusters of near-duplicates (one of 60, more than the first neighbour request), exact copies, and
    scattered points: 400 unit rows."""
    rng = np.random.default_rng(seed)
    rows = []
    big = l2_normalize(rng.normal(size=DIM))
    rows += [big + 0.02 * rng.normal(size=DIM) for _ in range(60)]
    for _ in range(30):
        c = l2_normalize(rng.normal(size=DIM))
        rows += [c + 0.05 * rng.normal(size=DIM) for _ in range(int(rng.integers(1, 5)))]
    x = l2_normalize(np.asarray(rows)).astype(np.float32)
    copies = x[rng.integers(len(x), size=20)]  # exact duplicates of existing rows
    scattered = l2_normalize(rng.normal(size=(400 - len(x) - len(copies), DIM))).astype(np.float32)
    out: np.ndarray = np.concatenate([x, copies, scattered]).astype(np.float32)
    return out


def filled_store(tmp_path: Path) -> EmbeddedStore:
    """An embedded store with collection "c" of the 400 points of ``points()``."""
    s = EmbeddedStore(tmp_path, flush_interval_s=0, optimize_after=None)
    s.create_collection(CollectionSpec("c", DIM))
    x = points()
    rng = np.random.default_rng(1)
    s.upsert(
        "c",
        [
            PointRecord(str(uuid.UUID(bytes=rng.bytes(16))), {"image": v}, {"alt_text": f"a shape {i % 5}"})
            for i, v in enumerate(x)
        ],
    )
    return s


def all_vectors(store: EmbeddedStore) -> tuple[list[str], np.ndarray]:
    page, _ = store.scroll("c", limit=10_000, with_vectors=True)
    return [p.id for p in page], np.stack([p.vectors["image"] for p in page]).astype(np.float32)
