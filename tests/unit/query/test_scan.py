"""Whole-collection scans stream any collection in pages, exactly, or read a stated uniform sample."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from services.core.types import PointRecord
from services.query.modality import compute_means
from services.query.oppositions import collection_deltas
from services.query.scan import Coverage, scan
from services.vectorstore.base import CollectionSpec, VectorStore
from services.vectorstore.embedded import EmbeddedStore
from tests.unit.query.fakes import MemoryStore, random_points, vec
from tests.unit.query.test_oppositions import resolver


def uuid_points(n: int, dim: int = 16, seed: int = 0) -> list[PointRecord]:
    """Points with random UUIDs, as content-hash ids are."""
    rng = np.random.default_rng(seed)
    return [
        PointRecord(str(uuid.UUID(bytes=rng.bytes(16))), p.vectors, p.payload) for p in random_points(n, dim, seed=seed)
    ]


@pytest.fixture
def edge(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = EmbeddedStore(tmp_path, flush_interval_s=0, optimize_after=None)
    yield store
    store.close()


def stores(edge: EmbeddedStore, pts: list[PointRecord]) -> list[VectorStore]:
    edge.create_collection(CollectionSpec("c", 16))
    edge.upsert("c", pts)
    return [MemoryStore(pts), edge]


def test_streaming_over_many_pages_gives_the_exact_deltas(edge: EmbeddedStore) -> None:
    pts = uuid_points(95)
    diff = vec("x") - vec("y")
    truth = sorted(float(p.vectors["image"] @ diff) for p in pts)
    for store in stores(edge, pts):
        deltas, coverage = collection_deltas(resolver(store), "image", diff, max_exact=1_000, page_size=7)
        assert coverage == Coverage(95, 95) and not coverage.sampled
        assert sorted(deltas.tolist()) == pytest.approx(truth, abs=1e-5)


def test_streamed_means_equal_the_whole_matrix_statistics(edge: EmbeddedStore) -> None:
    pts = uuid_points(60)
    x = np.stack([p.vectors["image"] for p in pts]).astype(np.float64)
    for store in stores(edge, pts):
        m = compute_means(store, "c", max_exact=1_000, page_size=8)["image"]
        assert m.count == 60 and m.points == 60
        assert m.mean == pytest.approx(x.mean(0), abs=1e-5)
        assert m.cov == pytest.approx(np.cov(x.T, bias=True), abs=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_a_sample_has_exactly_the_stated_size_without_repeats(edge: EmbeddedStore, seed: int) -> None:
    pts = uuid_points(80, seed=seed)
    for store in stores(edge, pts) if seed == 0 else [MemoryStore(pts)]:
        batches, coverage = scan(store, "c", 25, page_size=6, seed=seed)
        ids = [p.id for page in batches for p in page]
        assert coverage.points == 80 and coverage.scanned == 25 and coverage.sampled
        assert len(ids) == 25 and len(set(ids)) == 25  # wrapping around never reads a point twice
        assert set(ids) <= {p.id for p in pts}


def test_samples_are_spread_over_the_collection() -> None:
    """Different starts pick different points: over many samples every point turns up about equally."""
    pts = uuid_points(40)
    store = MemoryStore(pts)
    seen = {p.id: 0 for p in pts}
    for seed in range(400):
        batches, _ = scan(store, "c", 10, page_size=4, seed=seed)
        for page in batches:
            for p in page:
                seen[p.id] += 1
    # Each point's expected count is 400 × 10/40 = 100; a run of ids gives every point the same chance.
    assert min(seen.values()) > 40 and max(seen.values()) < 180


def test_the_error_bound_shrinks_with_the_sample() -> None:
    assert Coverage(100, 100).cdf_error == 0
    small, large = Coverage(10**6, 1_000).cdf_error, Coverage(10**6, 100_000).cdf_error
    assert large < small and large == pytest.approx(small / 10)
    assert large == pytest.approx(0.0043, abs=1e-4)
