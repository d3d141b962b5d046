"""Path ordering (nearest-neighbour + 2-opt, open path), slerp and walks."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.core.types import PointRecord
from services.query.paths import (
    angular_distances,
    nearest_neighbour_path,
    path_length,
    shortest_path,
    slerp,
    two_opt,
    walk,
)
from tests.unit.query.fakes import MemoryStore


def circle(n: int, arc: float = np.pi) -> np.ndarray:
    """n unit vectors on an arc of a great circle in 8 dimensions, in angle order."""
    t = np.linspace(0, arc, n)
    x = np.zeros((n, 8), dtype=np.float32)
    x[:, 0], x[:, 1] = np.cos(t), np.sin(t)
    return x


def test_path_along_an_arc_recovers_the_arc() -> None:
    x = circle(40)
    perm = np.random.default_rng(1).permutation(40)
    res = shortest_path(x[perm])
    walked = perm[res.order]
    assert list(walked) in (list(range(40)), list(range(39, -1, -1)))
    assert res.length == pytest.approx(np.pi, abs=1e-5)
    assert res.input_length > 5 * res.length


def test_path_is_a_permutation_and_never_longer_than_the_input() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 7, 60):
        x = rng.standard_normal((n, 32)).astype(np.float32)
        res = shortest_path(x)
        assert sorted(res.order) == list(range(n))
        assert res.length <= res.input_length + 1e-9
        assert res.length == pytest.approx(path_length(angular_distances(x), res.order))


def test_two_opt_improves_nearest_neighbour() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((80, 16))
    d = angular_distances(x.astype(np.float32))
    nn = nearest_neighbour_path(d, 0)
    better = two_opt(d, nn)
    assert path_length(d, better) <= path_length(d, nn)
    # 2-optimal: no single reversal shortens it further.
    assert two_opt(d, better) == better


def test_fixed_start_stays_first() -> None:
    x = circle(20)
    res = shortest_path(x, start=10)
    assert res.order[0] == 10
    assert sorted(res.order) == list(range(20))


def test_angular_distances_are_angles() -> None:
    x = circle(3, arc=np.pi / 2)
    d = angular_distances(x)
    assert d[0, 2] == pytest.approx(np.pi / 2, abs=1e-6)
    assert np.allclose(np.diag(d), 0, atol=1e-3)


def test_slerp_ends_middle_and_norm() -> None:
    a, b = circle(2, arc=np.pi / 2)
    assert np.allclose(slerp(a, b, 0.0), a, atol=1e-6)
    assert np.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    mid = slerp(a, b, 0.5)
    assert np.linalg.norm(mid) == pytest.approx(1.0, abs=1e-6)
    assert float(mid @ a) == pytest.approx(float(mid @ b), abs=1e-6)
    assert np.allclose(slerp(a, a, 0.3), a, atol=1e-6)
    with pytest.raises(InvalidInput, match="opposite"):
        slerp(a, -a, 0.5)


def test_walk_goes_from_a_to_b_without_repeats() -> None:
    x = circle(30, arc=np.pi / 2)
    store = MemoryStore(
        [PointRecord(f"00000000-0000-0000-0000-{i:012d}", {"image": v}, {"i": i}) for i, v in enumerate(x)]
    )
    steps = walk(store, "c", x[0], x[-1], 10)
    idx = [s.hit.payload["i"] for s in steps]
    assert len(idx) == 10 and len(set(idx)) == 10
    assert idx[0] == 0 and idx[-1] == 29
    assert idx == sorted(idx)  # along the arc
    # More steps than points: it stops when the points run out, never repeating one.
    steps = walk(store, "c", x[0], x[-1], 50)
    assert len(steps) == 30 and len({s.hit.id for s in steps}) == 30
    with pytest.raises(InvalidInput, match="at least 2"):
        walk(store, "c", x[0], x[-1], 1)
