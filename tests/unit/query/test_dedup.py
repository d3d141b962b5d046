"""Near-duplicate math against a plain numpy / scipy recomputation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from services.core.types import l2_normalize
from services.query.dedup import duplicate_groups, repeats_higher_ranked


def clustered(n_clusters: int = 30, per: int = 4, dim: int = 32, spread: float = 0.15, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(n_clusters, dim)))
    sizes = rng.integers(1, per + 1, size=n_clusters)
    rows = [
        l2_normalize(c + spread * rng.normal(size=(s, dim)) / np.sqrt(dim)) for c, s in zip(centres, sizes, strict=True)
    ]
    x = np.concatenate(rows)
    x = np.concatenate([x, x[:3]])  # three exact copies
    return x[rng.permutation(len(x))].astype(np.float32)


@pytest.mark.parametrize("threshold", [0.9, 0.97, 0.999])
def test_repeats_are_hits_close_to_any_higher_ranked_hit(threshold: float) -> None:
    x = clustered()
    sims = x.astype(np.float64) @ x.T.astype(np.float64)
    expected = np.array([bool(np.any(sims[i, :i] >= threshold)) for i in range(len(x))])
    got = repeats_higher_ranked(x, threshold)
    assert got.any() and not got.all()
    np.testing.assert_array_equal(got, expected)


def test_repeats_span_blocks() -> None:
    x = clustered(n_clusters=700, per=3, dim=16)  # > one 1024-row block
    assert len(x) > 1100
    sims = x @ x.T
    expected = np.array([bool(np.any(sims[i, :i] >= 0.95)) for i in range(len(x))])
    np.testing.assert_array_equal(repeats_higher_ranked(x, 0.95), expected)


@pytest.mark.parametrize("threshold", [0.9, 0.97])
def test_groups_are_the_connected_components(threshold: float) -> None:
    x = clustered(n_clusters=500, per=4)
    sims = x @ x.T
    adjacency = csr_matrix(sims >= threshold)
    _, labels = connected_components(adjacency, directed=False)
    expected = sorted(
        (sorted(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels) if np.sum(labels == c) > 1),
        key=lambda m: (-len(m), m[0]),
    )
    groups = duplicate_groups(x, threshold)
    assert [g.members for g in groups] == expected
    for g in groups:
        idx = np.asarray(g.members)
        block = sims[np.ix_(idx, idx)]
        linked = block[(block >= threshold) & ~np.eye(len(idx), dtype=bool)]
        assert g.min_similarity == pytest.approx(float(linked.min()), abs=1e-6)
        assert g.max_similarity == pytest.approx(float(linked.max()), abs=1e-6)


def test_exact_copies_are_marked_exact() -> None:
    rng = np.random.default_rng(3)
    x = l2_normalize(rng.normal(size=(50, 16)))
    x = np.concatenate([x, x[[4]], x[[4]], x[[9]]])
    groups = duplicate_groups(x, 0.999)
    assert sorted(g.members for g in groups) == [[4, 50, 51], [9, 52]]
    assert all(g.exact for g in groups)
    near = duplicate_groups(clustered(), 0.9)
    assert any(not g.exact for g in near)
