"""Pure parts of the plane, the vector-matrix cache and relative scores, with fakes (no model, no store)."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.query import matrix as matrix_mod
from services.query import scan as scan_mod
from services.query.ast import TextTerm, WeightedTerm
from services.query.matrix import VectorMatrices, read_matrix, sample_rows, stream_scores
from services.query.plane import QUADRANTS, deltas, pole_difference, quadrant_extremes
from services.query.relative import baseline, percentiles, relative_scores, streamed_baseline, z_scores
from services.query.sweep import combined_terms
from tests.unit.query.fakes import MemoryStore, random_points, vec


def test_sample_rows_is_everything_or_a_seeded_sorted_sample() -> None:
    assert sample_rows(5, 10, 0).tolist() == [0, 1, 2, 3, 4]
    s = sample_rows(1000, 50, 3)
    assert len(s) == len(set(s.tolist())) == 50 and s.tolist() == sorted(s.tolist())
    assert s.tolist() == np.sort(np.random.default_rng(3).choice(1000, 50, replace=False)).tolist()
    assert sample_rows(1000, 50, 4).tolist() != s.tolist()


def test_deltas_are_differences_of_similarities() -> None:
    pts = random_points(40)
    m = np.stack([p.vectors["image"] for p in pts])
    a, b = vec("a"), vec("b")
    d = deltas(m, pole_difference(a, b))
    np.testing.assert_allclose(d, m.astype(np.float64) @ a - m.astype(np.float64) @ b, atol=1e-6)
    assert deltas(np.zeros((0, 16), np.float32), pole_difference(a, b)).shape == (0,)


def test_quadrant_extremes_rank_corners_not_axes() -> None:
    x = np.asarray([3.0, 0.01, 1.0, -2.0, -1.0, 0.5], np.float32)
    y = np.asarray([0.01, 3.0, 1.0, -2.0, 1.0, -0.5], np.float32)
    out = {(qx, qy): (count, top.tolist()) for qx, qy, count, top in quadrant_extremes(x, y, 2)}
    assert set(out) == set(QUADRANTS)
    # (1, 1) is further into the (+, +) corner than (3, 0.01) or (0.01, 3).
    assert out[("a", "a")] == (3, [2, 0])
    assert out[("b", "b")] == (1, [3])
    assert out[("b", "a")] == (1, [4]) and out[("a", "b")] == (1, [5])
    assert all(len(t) == 0 for _, _, _, t in quadrant_extremes(x, y, 0))


def test_read_matrix_sorts_rows_by_id_and_indexes_them() -> None:
    pts = random_points(30, seed=1)
    store = MemoryStore(list(reversed(pts)))
    m = read_matrix(store, "c", "image")
    assert list(m.ids) == sorted(p.id for p in pts)
    for i, pid in enumerate(m.ids):
        np.testing.assert_array_equal(m.matrix[i], store.points[pid].vectors["image"])
    assert m.rows_of([m.ids[5], "nope", m.ids[2]]).tolist() == [5, 2]


def test_a_collection_too_large_to_cache_is_streamed_to_the_same_rows_and_numbers() -> None:
    """Above max_points nothing is cached; stream_scores gives the matrix's rows (sorted by id) and the
    same scores, over more points than one scan page, and the relative baseline is the same sample."""
    pts = random_points(scan_mod.PAGE + 300, seed=4)
    store = MemoryStore(list(reversed(pts)))
    assert VectorMatrices(len(pts) - 1).get(store, "c", "image") is None
    m = VectorMatrices(len(pts)).get(store, "c", "image")
    assert m is not None
    a, b = vec("a"), vec("b")
    diff = pole_difference(a, b)
    streamed = stream_scores(store, "c", "image", lambda x: np.stack([deltas(x, diff), x @ a], axis=1))
    assert streamed.ids == m.ids and streamed.scores.shape == (len(pts), 2)
    np.testing.assert_allclose(streamed.scores[:, 0], deltas(m.matrix, diff), atol=1e-6)
    np.testing.assert_allclose(streamed.scores[:, 1], m.matrix @ a, atol=1e-6)
    assert streamed.rows_of([m.ids[7], "nope", m.ids[3]]).tolist() == [7, 3]
    q, bg = vec("q"), vec("bg")[None, :]
    cached = baseline(m, q, bg, 200, 5)
    flowing = streamed_baseline(store, "c", "image", q, bg, 200, 5)
    np.testing.assert_allclose(flowing.scores, cached.scores, atol=1e-9)
    assert (flowing.sample, flowing.points, flowing.seed) == (cached.sample, cached.points, 5)


def test_matrix_cache_is_reused_until_the_count_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore(random_points(20))
    cache = VectorMatrices(1000)
    first = cache.get(store, "c", "image")
    assert first is not None and cache.get(store, "c", "image") is first
    store.upsert("c", random_points(21)[20:])
    monkeypatch.setattr(matrix_mod, "RECHECK_S", 0.0)
    again = cache.get(store, "c", "image")
    assert again is not None and again is not first and len(again.ids) == 21


def test_relative_scores_z_and_percentiles() -> None:
    pts = random_points(200, seed=2)
    store = MemoryStore(pts)
    m = read_matrix(store, "c", "image")
    q, bg = vec("q"), vec("bg")
    base = baseline(m, q, None, 50, 9)
    rows = sample_rows(200, 50, 9)
    want = np.sort(m.matrix[rows].astype(np.float64) @ q)
    np.testing.assert_allclose(base.scores, want, atol=1e-7)
    assert (base.sample, base.points) == (50, 200)
    assert z_scores([want.mean()], base)[0] == pytest.approx(0.0, abs=1e-9)
    assert percentiles([want[-1], want[0] - 1, want[24]], base).tolist() == [100.0, 0.0, 50.0]
    r = relative_scores(m.matrix[:3], q, bg[None, :])
    np.testing.assert_allclose(r, m.matrix[:3].astype(np.float64) @ q - m.matrix[:3].astype(np.float64) @ bg)
    with pytest.raises(InvalidInput, match="at least 2"):
        baseline(read_matrix(MemoryStore(pts[:1]), "c", "image"), q, None, 10, 0)


def test_sweep_scales_every_term_of_the_added_expression() -> None:
    base = [WeightedTerm(1.0, TextTerm("a")), WeightedTerm(-0.5, TextTerm("b"))]
    term = [WeightedTerm(1.0, TextTerm("c")), WeightedTerm(-2.0, TextTerm("d"))]
    assert combined_terms(base, term, -0.3) == [1.0, -0.5, -0.3, pytest.approx(0.6)]
