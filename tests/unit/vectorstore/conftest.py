"""Fixtures for the vector store suite: every store implementation, and a deterministic data set.

The behavioural tests take the ``store`` fixture and so run once per backend (qdrant-client's
"congruence" habit): Qdrant Edge in a temp dir, and ``ServerStore`` over qdrant-client's local mode.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from services.core.types import PointRecord, Vector, l2_normalize
from services.vectorstore.base import CollectionSpec, VectorStore
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.server import ServerStore

DIM = 64
N_POINTS = 500
COLORS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "star")
_NS = uuid.UUID("6f1c9a52-3b0e-4d5e-9a51-6a1f0c2b7d11")

BACKENDS = ("embedded", "server")


def point_uuid(i: int) -> str:
    return str(uuid.uuid5(_NS, f"point-{i}"))


def make_store(kind: str, tmp_path: Path) -> VectorStore:
    if kind == "embedded":
        # No background optimize: every segment stays plain (brute force), so search is exact like local
        # mode's. Writes are read back from the live shard; the WAL, not a flush, makes them durable.
        return EmbeddedStore(tmp_path / "vectors", flush_interval_s=30, optimize_after=None)
    return ServerStore(QdrantClient(":memory:"))


def _ram_dir() -> Path:
    """A fresh directory on tmpfs where there is one.

    Qdrant Edge fsyncs ~100 times to create a collection; on a shared disk that alone can take seconds.
    These tests are about behaviour, not the disk, and process-level durability holds on tmpfs too.
    """
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="signifier-vs-", dir=base))


@pytest.fixture
def store_dir() -> Iterator[Path]:
    path = _ram_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, store_dir: Path) -> Iterator[VectorStore]:
    s = make_store(request.param, store_dir)
    yield s
    s.close()


class DataSet:
    """``n`` points: unit image vectors, text vectors on two thirds of them, and a varied payload."""

    def __init__(self, n: int = N_POINTS, dim: int = DIM, seed: int = 7, first_id: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.ids = [point_uuid(first_id + i) for i in range(n)]
        self.image = l2_normalize(rng.normal(size=(n, dim)))
        self.text = l2_normalize(rng.normal(size=(n, dim)))
        self.has_text = np.array([i % 3 != 0 for i in range(n)])
        self.payloads: list[dict[str, object]] = [
            {
                "source": f"images/{i:04d}.png",
                "color": COLORS[i % len(COLORS)],
                "shape": SHAPES[i % len(SHAPES)],
                "labels": [COLORS[i % len(COLORS)], SHAPES[i % len(SHAPES)]],
                "width": 32 * (1 + i % 10),
                "height": 100 + i,
                "ingested_at": 1000.0 + i / 4,
                "has_text": bool(self.has_text[i]),
                "ratio": [0.5, 1.0, 1.5][i % 3],
            }
            for i in range(n)
        ]
        self.queries = l2_normalize(rng.normal(size=(8, dim)))

    def records(self) -> list[PointRecord]:
        out = []
        for i, pid in enumerate(self.ids):
            vectors: dict[str, Vector] = {"image": self.image[i]}
            if self.has_text[i]:
                vectors["text"] = self.text[i]
            out.append(PointRecord(id=pid, vectors=vectors, payload=dict(self.payloads[i])))
        return out

    def brute_force(
        self, query: Vector, using: str = "image", where: Callable[[dict[str, object]], bool] | None = None
    ) -> list[tuple[str, float]]:
        """Every eligible point with its cosine similarity to ``query``, best first (numpy, exact)."""
        matrix = self.image if using == "image" else self.text
        scores = matrix @ query
        eligible = [
            i
            for i in range(len(self.ids))
            if (using == "image" or self.has_text[i]) and (where is None or where(self.payloads[i]))
        ]
        eligible.sort(key=lambda i: -scores[i])
        return [(self.ids[i], float(scores[i])) for i in eligible]


@pytest.fixture(scope="session")
def data() -> DataSet:
    return DataSet()


def fill(store: VectorStore, data: DataSet, name: str = "pics") -> VectorStore:
    """Create ``name`` and upsert the data set in batches, as the ingest writer does."""
    store.create_collection(CollectionSpec(name=name, dim=data.dim))
    records = data.records()
    for start in range(0, len(records), 256):
        store.upsert(name, records[start : start + 256])
    return store


@pytest.fixture
def filled(store: VectorStore, data: DataSet) -> VectorStore:
    """``store`` with collection ``pics`` holding the data set; the test may change it."""
    return fill(store, data)


@pytest.fixture(scope="module", params=BACKENDS)
def readonly(request: pytest.FixtureRequest, data: DataSet) -> Iterator[VectorStore]:
    """A store with ``pics`` filled once per module and backend, shared by tests that only read it.

    Creating a collection costs Qdrant Edge ~100 fsyncs (segments, payload indexes), so the many
    read-only tests share one instead of paying for it each time.
    """
    path = _ram_dir()
    s = make_store(request.param, path)
    fill(s, data)
    yield s
    s.close()
    shutil.rmtree(path, ignore_errors=True)
