"""``search_mmr`` on every store: Qdrant's MMR equals a numpy MMR recomputation over the same candidates."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.vectorstore.base import VectorStore
from services.vectorstore.filters import Condition, Filter
from tests.unit.vectorstore.conftest import DataSet


def numpy_mmr(q: np.ndarray, x: np.ndarray, relevance: float, k: int) -> list[int]:
    """Greedy MMR, written out: relevance·cos(q, x) − (1 − relevance)·max cos(x, picked)."""
    picked: list[int] = []
    for _ in range(k):
        scores = [
            -np.inf
            if i in picked
            else relevance * float(x[i] @ q) - (1 - relevance) * max((float(x[i] @ x[j]) for j in picked), default=0.0)
            for i in range(len(x))
        ]
        picked.append(int(np.argmax(scores)))
    return picked


@pytest.mark.parametrize("relevance", [1.0, 0.7, 0.4, 0.0])
def test_mmr_equals_numpy_over_the_nearest_candidates(filled: VectorStore, data: DataSet, relevance: float) -> None:
    q = data.queries[0]
    pool = [pid for pid, _ in data.brute_force(q)[:40]]
    x = data.image[[data.ids.index(p) for p in pool]]
    expected = [pool[i] for i in numpy_mmr(q, x, relevance, 10)]
    hits = filled.search_mmr("pics", q, limit=10, candidates=40, relevance=relevance)
    assert [h.id for h in hits] == expected
    for h in hits:
        assert h.score == pytest.approx(float(data.image[data.ids.index(h.id)] @ q), abs=1e-5)


def test_mmr_respects_the_filter(filled: VectorStore, data: DataSet) -> None:
    q = data.queries[1]
    pool = [pid for pid, _ in data.brute_force(q, where=lambda p: p["color"] == "red")[:30]]
    x = data.image[[data.ids.index(p) for p in pool]]
    expected = [pool[i] for i in numpy_mmr(q, x, 0.5, 8)]
    f = Filter(must=(Condition("color", "red"),))
    assert [h.id for h in filled.search_mmr("pics", q, limit=8, candidates=30, relevance=0.5, filter=f)] == expected


def test_mmr_arguments_are_checked(filled: VectorStore, data: DataSet) -> None:
    with pytest.raises(InvalidInput, match="at least the limit"):
        filled.search_mmr("pics", data.queries[0], limit=10, candidates=5)
    with pytest.raises(InvalidInput, match=r"in \[0, 1\]"):
        filled.search_mmr("pics", data.queries[0], limit=10, candidates=20, relevance=1.5)
