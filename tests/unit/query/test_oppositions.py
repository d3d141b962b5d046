"""Oppositions: one kNN per pole orders the collection exactly by sim(x, A) − sim(x, B)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.encoders.cache import TextEmbeddingCache
from services.query.oppositions import histogram, oppositions
from services.query.parser import parse_terms
from services.query.resolve import Resolver
from services.vectorstore.base import CollectionSpec, VectorStore
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.filters import Filter, parse_filter
from tests.unit.query.fakes import HashEncoder, MemoryStore, random_points, vec

LIMITS = Limits()


def resolver(store: VectorStore, name: str = "c") -> Resolver:
    return Resolver(HashEncoder(), TextEmbeddingCache(64), store, name, parse=parse_terms)


def exact_order(points, a: np.ndarray, b: np.ndarray) -> list[str]:  # type: ignore[no-untyped-def]
    delta = {p.id: float(p.vectors["image"] @ a - p.vectors["image"] @ b) for p in points}
    return sorted(delta, key=lambda i: -delta[i])


def test_poles_are_the_exact_orders_by_delta() -> None:
    pts = random_points(200)
    res = oppositions(resolver(MemoryStore(pts)), '"happy"', '"sad"', LIMITS, limit=200)
    order = exact_order(pts, vec("happy"), vec("sad"))
    assert [h.id for h in res.a] == order
    assert [h.id for h in res.b] == order[::-1]
    for h in res.a + res.b:
        assert h.sim_a == pytest.approx(float(_point(pts, h.id) @ vec("happy")), abs=1e-5)
    # In pole a delta = sim_a − sim_b, in pole b sim_b − sim_a; both decreasing.
    assert all(h.delta == pytest.approx(h.sim_a - h.sim_b, abs=1e-5) for h in res.a)
    assert all(h.delta == pytest.approx(h.sim_b - h.sim_a, abs=1e-5) for h in res.b)
    assert [h.delta for h in res.a] == sorted((h.delta for h in res.a), reverse=True)
    assert res.axis_norm == pytest.approx(float(np.linalg.norm(vec("happy") - vec("sad"))), abs=1e-6)


def _point(pts, pid):  # type: ignore[no-untyped-def]
    return next(p.vectors["image"] for p in pts if p.id == pid)


def test_composite_poles_and_explanations() -> None:
    pts = random_points(50)
    res = oppositions(resolver(MemoryStore(pts)), '"a" + 0.5*"b"', '"c" - 0.2*"d"', LIMITS, limit=5, explain=True)
    for h in res.a + res.b:
        assert h.contributions is not None
        assert sum(h.contributions["a"].values()) == pytest.approx(h.sim_a, abs=1e-5)
        assert sum(h.contributions["b"].values()) == pytest.approx(h.sim_b, abs=1e-5)
        assert set(h.contributions["b"]) == {'"c"', '"d"'}
    assert res.query_a.expression == '"a" + 0.5*"b"'
    assert res.query_b.expression == '"c" - 0.2*"d"'


def test_histogram_covers_every_point() -> None:
    pts = random_points(120)
    res = oppositions(resolver(MemoryStore(pts)), '"x"', '"y"', LIMITS, limit=3, bins=7)
    assert res.histogram is not None
    assert sum(res.histogram.counts) == 120 and len(res.histogram.edges) == 8
    deltas = [float(p.vectors["image"] @ (vec("x") - vec("y"))) for p in pts]
    assert res.histogram.edges[0] == pytest.approx(min(deltas), abs=1e-5)
    assert res.histogram.edges[-1] == pytest.approx(max(deltas), abs=1e-5)
    assert res.histogram.mean == pytest.approx(float(np.mean(deltas)), abs=1e-5)


def test_histogram_is_refused_with_a_filter() -> None:
    store = MemoryStore(random_points(30))
    with pytest.raises(InvalidInput, match="filter"):
        oppositions(resolver(store), '"x"', '"y"', LIMITS, bins=3, filter=parse_filter({"i": 1}))
    # An empty filter is no filter.
    assert oppositions(resolver(store), '"x"', '"y"', LIMITS, bins=3, filter=Filter()).histogram is not None


def test_histogram_of_a_collection_over_the_exact_limit_is_a_stated_sample() -> None:
    """Above ``scan_exact_points`` the histogram counts a sample of that many points and says so."""
    pts = random_points(30)
    res = oppositions(resolver(MemoryStore(pts)), '"x"', '"y"', Limits(scan_exact_points=10), bins=3)
    h = res.histogram
    assert h is not None
    assert h.points == sum(h.counts) == 10 and h.collection_points == 30
    assert 0 < h.cdf_error < 1
    exact = oppositions(resolver(MemoryStore(pts)), '"x"', '"y"', LIMITS, bins=3).histogram
    assert exact is not None and exact.points == exact.collection_points == 30 and exact.cdf_error == 0


def test_equal_poles_have_no_axis() -> None:
    with pytest.raises(InvalidInput, match="same"):
        oppositions(resolver(MemoryStore(random_points(5))), '"x"', '"x" + "x"', LIMITS)


def test_histogram_of_nothing() -> None:
    h = histogram(np.zeros(0, dtype=np.float32), 4)
    assert h.points == 0 and h.counts == []


def test_exact_through_qdrant_edge_with_int8_rescoring(tmp_path: Path) -> None:
    """The real embedded store (indexed, int8 copies, rescored): deltas and order stay exact."""
    store = EmbeddedStore(tmp_path, flush_interval_s=0, optimize_after=None)
    try:
        store.create_collection(CollectionSpec("c", 16))
        pts = random_points(300)
        store.upsert("c", pts)
        store.optimize("c")
        res = oppositions(resolver(store), '"up"', '"down"', LIMITS, limit=25)
        order = exact_order(pts, vec("up"), vec("down"))
        assert [h.id for h in res.a] == order[:25]
        assert [h.id for h in res.b] == order[::-1][:25]
        for h in res.a:
            assert h.delta == pytest.approx(h.sim_a - h.sim_b, abs=1e-5)
    finally:
        store.close()
