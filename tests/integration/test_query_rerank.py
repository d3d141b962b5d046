"""Search with near-duplicates hidden (``dedup``) and with MMR diversity, checked against numpy over the
stored vectors of the real app's collection."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.accounts.principal import LOCAL_OWNER

pytestmark = pytest.mark.integration


def _vectors(api: Any, ids: list[str]) -> np.ndarray:
    runtime = api.app.state.runtime
    store_name = runtime.collections.get(LOCAL_OWNER, "shapes").store_name
    points = {p.id: p for p in runtime.store.retrieve(store_name, ids, with_vectors=True)}
    return np.stack([points[i].vectors["image"] for i in ids]).astype(np.float64)


def _search(api: Any, **body: Any) -> list[dict[str, Any]]:
    r = api.post("/v1/collections/shapes/search", json=body)
    assert r.status_code == 200, r.text
    hits: list[dict[str, Any]] = r.json()["hits"]
    return hits


def _anchor(api: Any) -> str:
    return _search(api, expression='"a red circle"', limit=1)[0]["id"]


@pytest.mark.parametrize("threshold", [0.9, 0.97])
def test_dedup_hides_exactly_the_repeats_of_higher_ranked_hits(api, threshold: float) -> None:  # type: ignore[no-untyped-def]
    expression = '"a red circle"'
    ranked = [h["id"] for h in _search(api, expression=expression, limit=400)]
    x = _vectors(api, ranked)
    sims = x @ x.T
    hidden = [bool(np.any(sims[i, :i] >= threshold)) for i in range(len(ranked))]
    expected = [i for i, h in zip(ranked, hidden, strict=True) if not h]
    assert 0 < sum(hidden) < len(ranked) - 30, "the threshold should hide some hits, not all"
    got = [h["id"] for h in _search(api, expression=expression, limit=20, dedup=True, dedup_threshold=threshold)]
    assert got == expected[:20]
    page2 = _search(api, expression=expression, limit=10, offset=20, dedup=True, dedup_threshold=threshold)
    assert [h["id"] for h in page2] == expected[20:30]


def _numpy_mmr(q: np.ndarray, x: np.ndarray, relevance: float, k: int) -> list[int]:
    picked: list[int] = []
    for _ in range(k):
        best, best_score = -1, -np.inf
        for i in range(len(x)):
            if i in picked:
                continue
            redundancy = max((float(x[i] @ x[j]) for j in picked), default=0.0)
            score = relevance * float(x[i] @ q) - (1 - relevance) * redundancy
            if score > best_score:
                best, best_score = i, score
        picked.append(best)
    return picked


@pytest.mark.parametrize("diversity", [0.0, 0.3, 0.7])
def test_diversity_is_mmr_over_the_nearest_candidates(api, diversity: float) -> None:  # type: ignore[no-untyped-def]
    anchor = _anchor(api)
    expression = f"image({anchor})"  # the query vector is the stored vector itself
    pool = [h["id"] for h in _search(api, expression=expression, limit=60)]
    x = _vectors(api, pool)
    q = _vectors(api, [anchor])[0]
    expected = [pool[i] for i in _numpy_mmr(q, x, 1.0 - diversity, 12)]
    hits = _search(api, expression=expression, limit=12, diversity=diversity, diversity_candidates=60)
    assert [h["id"] for h in hits] == expected
    for h, i in zip(hits, expected, strict=True):  # scores stay the cosine to the query
        assert h["score"] == pytest.approx(float(x[pool.index(i)] @ q), abs=1e-4)
    if diversity >= 0.3:
        assert expected != pool[:12], "diversity should change the order on this collection"
    page = _search(api, expression=expression, limit=4, offset=8, diversity=diversity, diversity_candidates=60)
    assert [h["id"] for h in page] == expected[8:12]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"dedup": True, "diversity": 0.5}, "not both"),
        ({"diversity": 1.5}, "less than or equal to 1"),
        ({"diversity": -0.1}, "greater than or equal to 0"),
        ({"dedup": True, "dedup_threshold": 2}, "less than or equal to 1"),
        ({"diversity_candidates": 50}, "diversity (MMR) only"),
        ({"diversity": 0.5, "limit": 20, "diversity_candidates": 10}, "between offset + limit"),
        ({"dedup": True, "limit": 1000, "offset": 4000}, "MAX_RERANK_CANDIDATES"),
        ({"dedup": "yes please"}, "valid boolean"),
    ],
)
def test_bad_rerank_bodies_are_422(api, extra: dict[str, Any], fragment: str) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/shapes/search", json={"expression": '"a circle"', **extra})
    assert r.status_code == 422, r.text
    assert fragment in r.text
