"""The opposition plane, weight sweeps and relative scores through the real app (shapes-clip, Qdrant Edge).

Every number is checked against a numpy recomputation from the stored vectors (read one by one through
the points route) and the pole vectors (read through /v1/embed): nothing here trusts the code under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.query.matrix import VectorMatrices
from tests.integration.query_helpers import ok, share

pytestmark = pytest.mark.integration

C = "/v1/collections/shapes"


@pytest.fixture(scope="module")
def stored(api: Any) -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    """Every point of "shapes": ids ascending, their image vectors (n, d) in float64, their payloads."""
    res = ok(api.post(f"{C}/plane", json={"x": {"a": '"red"', "b": '"blue"'}, "y": {"a": '"circle"', "b": '"star"'}}))
    ids = sorted(p["id"] for p in res["points"])
    assert len(ids) == 300
    vecs, payloads = [], []
    for i in ids:
        p = ok(api.get(f"{C}/points/{i}", params={"with_vectors": True}))
        vecs.append(p["vectors"]["image"])
        payloads.append(p["payload"])
    return ids, np.asarray(vecs, dtype=np.float64), payloads


def embed(api: Any, *texts: str) -> np.ndarray:
    return np.asarray(ok(api.post("/v1/embed", json={"texts": list(texts)}))["vectors"], dtype=np.float64)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _plane(api: Any, **body: Any) -> dict[str, Any]:
    return ok(
        api.post(
            f"{C}/plane", json={"x": {"a": '"large"', "b": '"small"'}, "y": {"a": '"snow"', "b": '"night"'}, **body}
        )
    )


def test_plane_coordinates_are_the_exact_deltas(api: Any, stored: Any) -> None:
    ids, v, _ = stored
    res = _plane(api)
    large, small, snow, night = embed(api, "large", "small", "snow", "night")
    want_x, want_y = v @ (large - small), v @ (snow - night)
    got = {p["id"]: (p["x"], p["y"]) for p in res["points"]}
    assert res["total"] == res["placed"] == 300 and res["sampled"] is False and res["decimals"] == 5
    assert sorted(got) == ids
    xs = np.asarray([got[i][0] for i in ids])
    ys = np.asarray([got[i][1] for i in ids])
    np.testing.assert_allclose(xs, want_x, atol=2e-5)
    np.testing.assert_allclose(ys, want_y, atol=2e-5)
    assert res["x_axis"]["norm"] == pytest.approx(np.linalg.norm(large - small), abs=1e-5)
    assert res["x_axis"]["a"]["expression"] == '"large"' and res["y_axis"]["b"]["expression"] == '"night"'
    assert res["x_axis"]["min"] == pytest.approx(want_x.min(), abs=1e-5)
    assert res["y_axis"]["std"] == pytest.approx(want_y.std(), abs=1e-5)


def test_quadrant_extremes_follow_from_the_deltas(api: Any, stored: Any) -> None:
    ids, v, payloads = stored
    res = _plane(api, extremes=5)
    large, small, snow, night = embed(api, "large", "small", "snow", "night")
    x, y = v @ (large - small), v @ (snow - night)
    for q in res["quadrants"]:
        fx, fy = (1 if q["x"] == "a" else -1), (1 if q["y"] == "a" else -1)
        inside = np.flatnonzero((fx * x > 0) & (fy * y > 0))
        assert q["count"] == len(inside)
        score = np.minimum(fx * x[inside] / x.std(), fy * y[inside] / y.std())
        want = [ids[i] for i in inside[np.argsort(-score)][:5]]
        assert [e["id"] for e in q["extremes"]] == want
    # The meaning is right too: the (large, snow) corner holds large shapes on snow.
    corner = next(q for q in res["quadrants"] if (q["x"], q["y"]) == ("a", "a"))
    assert share(corner["extremes"], size="large") >= 0.8
    assert share(corner["extremes"], background="snow") >= 0.8
    night_small = next(q for q in res["quadrants"] if (q["x"], q["y"]) == ("b", "b"))
    assert share(night_small["extremes"], size="small", background="night") >= 0.6
    assert all(e["payload"] == payloads[ids.index(e["id"])] for e in corner["extremes"])


def test_a_large_plane_is_a_stated_seeded_sample(api: Any, stored: Any) -> None:
    ids, _, _ = stored
    res = _plane(api, limit=50, seed=7)
    assert (res["total"], res["placed"], res["sampled"], res["seed"]) == (300, 50, True, 7)
    rows = np.sort(np.random.default_rng(7).choice(300, size=50, replace=False))
    assert [p["id"] for p in res["points"]] == [ids[i] for i in rows]
    again = _plane(api, limit=50, seed=7)
    assert again["points"] == res["points"]
    assert [p["id"] for p in _plane(api, limit=50, seed=8)["points"]] != [p["id"] for p in res["points"]]


def test_plane_filter_places_only_matching_points(api: Any, stored: Any) -> None:
    ids, _, payloads = stored
    res = _plane(api, filter={"shape": "star"})
    stars = {i for i, p in zip(ids, payloads, strict=True) if p["shape"] == "star"}
    assert {p["id"] for p in res["points"]} == stars and res["total"] == len(stars)
    assert all(e["payload"]["shape"] == "star" for q in res["quadrants"] for e in q["extremes"])


def test_a_collection_too_large_to_cache_is_streamed_to_the_same_answer(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above MAX_CACHED_POINTS the plane and relative scores stream the vectors through the request: the
    same points, coordinates, quadrants and baseline as from the cached matrix."""
    bodies = [{"extremes": 5}, {"limit": 40, "seed": 2}, {"filter": {"shape": "star"}}]
    search = {"expression": '"a blue shape"', "limit": 20, "relative_sample": 100, "background": ['"asdfgh"']}
    cached = [_plane(api, **b) for b in bodies]
    cached_search = ok(api.post(f"{C}/search", json=search))
    assert not any(c["streamed"] for c in cached)
    monkeypatch.setattr(api.app.state.runtime.query, "matrices", VectorMatrices(100))  # an empty cache of 100 rows
    for body, want in zip(bodies, cached, strict=True):
        got = _plane(api, **body)
        assert got["streamed"] is True
        assert (got["total"], got["placed"], got["sampled"]) == (want["total"], want["placed"], want["sampled"])
        assert [p["id"] for p in got["points"]] == [p["id"] for p in want["points"]]
        for axis in ("x", "y"):
            np.testing.assert_allclose([p[axis] for p in got["points"]], [p[axis] for p in want["points"]], atol=2e-5)
            assert got[f"{axis}_axis"]["std"] == pytest.approx(want[f"{axis}_axis"]["std"], abs=1e-6)
        for g, w in zip(got["quadrants"], want["quadrants"], strict=True):
            assert (g["count"], [e["id"] for e in g["extremes"]]) == (w["count"], [e["id"] for e in w["extremes"]])
    got_search = ok(api.post(f"{C}/search", json=search))
    rel, want_rel = got_search["relative"], cached_search["relative"]
    assert (rel["sample"], rel["seed"], rel["points"]) == (want_rel["sample"], want_rel["seed"], want_rel["points"])
    assert rel["mean"] == pytest.approx(want_rel["mean"], abs=1e-9) and rel["std"] == pytest.approx(want_rel["std"])
    assert [h["id"] for h in got_search["hits"]] == [h["id"] for h in cached_search["hits"]]
    assert [h["z"] for h in got_search["hits"]] == pytest.approx([h["z"] for h in cached_search["hits"]], abs=1e-6)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"x": {"a": '"red"', "b": '"red"'}, "y": {"a": '"a"', "b": '"b"'}}, "same"),
        ({"x": {"a": '"red"', "b": '"blue" +'}, "y": {"a": '"a"', "b": '"b"'}}, "end"),
        ({"x": {"a": '"red"', "b": '"blue"'}, "y": {"a": '"a"', "b": '"b"'}, "limit": 10**7}, "limit"),
        ({"x": {"a": '"red"', "b": '"blue"'}, "y": {"a": '"a"'}}, "b"),
        ({"x": {"a": '"red"', "b": '"blue"'}, "y": {"a": '"a"', "b": '"b"'}, "extremes": 1000}, "extremes"),
        ({"x": {"a": '"red"', "b": '"blue"'}, "y": {"a": '"a"', "b": '"b"'}, "filter": []}, "filter"),
    ],
)
def test_plane_refuses_bad_bodies(api: Any, body: dict[str, Any], fragment: str) -> None:
    r = api.post(f"{C}/plane", json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.text


# --- weight sweeps ---


def _ranking(v: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    return list(np.argsort(-(v @ unit(q)), kind="stable")[:k])


def test_sweep_rankings_are_the_exact_rankings(api: Any, stored: Any) -> None:
    ids, v, _ = stored
    weights = [0, -0.1, -0.3, -0.5, -1, 0.5]
    res = ok(
        api.post(
            f"{C}/sweep", json={"expression": '"a red shape"', "term": '"circle"', "weights": weights, "limit": 12}
        )
    )
    red, circle = embed(api, "a red shape", "circle")
    assert [s["weight"] for s in res["steps"]] == weights
    assert res["query"]["expression"] == '"a red shape"' and res["term"]["expression"] == '"circle"'
    for step, w in zip(res["steps"], weights, strict=True):
        q = red + w * circle
        assert [h["id"] for h in step["hits"]] == [ids[i] for i in _ranking(v, q, 12)], w
        np.testing.assert_allclose([h["score"] for h in step["hits"]], np.sort(v @ unit(q))[::-1][:12], atol=1e-5)
        assert step["norm"] == pytest.approx(np.linalg.norm(q), abs=1e-5)
        # The same as the one search written out.
        one = ok(api.post(f"{C}/search", json={"expression": f'"a red shape" + {w}*"circle"', "limit": 12}))
        assert [h["id"] for h in one["hits"]] == [h["id"] for h in step["hits"]]
    # Subtracting "circle" moves the circles out.
    assert share(res["steps"][0]["hits"], shape="circle") > share(res["steps"][4]["hits"], shape="circle")


def test_sweep_term_is_scaled_as_a_whole_and_cancelling_weights_are_reported(api: Any, stored: Any) -> None:
    ids, v, _ = stored
    res = ok(api.post(f"{C}/sweep", json={"expression": '"red"', "term": '"red" - 0.5*"star"', "weights": [-1, 2]}))
    red, star = embed(api, "red", "star")
    first, second = res["steps"]
    q = red - (red - 0.5 * star)  # = 0.5 * star
    assert [h["id"] for h in first["hits"]] == [ids[i] for i in _ranking(v, q, 10)]
    q2 = red + 2 * (red - 0.5 * star)
    assert [h["id"] for h in second["hits"]] == [ids[i] for i in _ranking(v, q2, 10)]
    cancel = ok(api.post(f"{C}/sweep", json={"expression": '"red"', "term": '"red"', "weights": [0, -1]}))
    assert cancel["steps"][0]["hits"] and cancel["steps"][1]["hits"] == []
    assert "cancel" in cancel["steps"][1]["error"] and cancel["steps"][1]["norm"] == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"expression": '"a"', "term": '"b"', "weights": []}, "weights"),
        ({"expression": '"a"', "term": '"b"', "weights": [0.1] * 42}, "weights"),
        ({"expression": '"a"', "term": '"b" +', "weights": [0]}, "end"),
        ({"expression": '"a"', "term": '"b"', "weights": [0], "limit": 10**6}, "limit"),
        ({"expression": '"a"', "weights": [0]}, "term"),
    ],
)
def test_sweep_refuses_bad_bodies(api: Any, body: dict[str, Any], fragment: str) -> None:
    r = api.post(f"{C}/sweep", json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.text


def test_sweep_refuses_non_finite_weights(api: Any) -> None:
    body = b'{"expression": "\\"a\\"", "term": "\\"b\\"", "weights": [0, NaN]}'
    r = api.post(f"{C}/sweep", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.text, r.text


# --- relative scores ---


def _sample(ids: list[str], v: np.ndarray, size: int, seed: int) -> np.ndarray:
    if size >= len(ids):
        return v
    return v[np.sort(np.random.default_rng(seed).choice(len(ids), size=size, replace=False))]


def test_z_scores_and_percentiles_follow_from_the_stated_sample(api: Any, stored: Any) -> None:
    ids, v, _ = stored
    body = {"expression": '"a blue shape"', "limit": 30, "relative": True, "relative_sample": 100, "relative_seed": 3}
    res = ok(api.post(f"{C}/search", json=body))
    rel = res["relative"]
    assert (rel["sample"], rel["seed"], rel["points"], rel["cut"]) == (100, 3, 300, 0)
    q = embed(api, "a blue shape")[0]
    base = _sample(ids, v, 100, 3) @ q
    assert rel["mean"] == pytest.approx(base.mean(), abs=1e-6) and rel["std"] == pytest.approx(base.std(), abs=1e-6)
    for h in res["hits"]:
        s = v[ids.index(h["id"])] @ q
        assert h["score"] == pytest.approx(s, abs=1e-5)
        assert h["z"] == pytest.approx((s - base.mean()) / base.std(), abs=1e-3)
        assert h["percentile"] == pytest.approx(100 * np.mean(base <= s + 1e-7), abs=1.01)
        assert "relative_score" not in h
    assert res["hits"][0]["z"] > 1.5 and res["hits"][0]["percentile"] > 90
    plain = ok(api.post(f"{C}/search", json={"expression": '"a blue shape"', "limit": 30}))
    assert "relative" not in plain and "z" not in plain["hits"][0]
    assert [h["id"] for h in plain["hits"]] == [h["id"] for h in res["hits"]]


def test_cut_offs_and_background_prompts(api: Any, stored: Any) -> None:
    ids, v, _ = stored
    mash = '"3hlufakjsdnfa3fnaj;ld"'
    body = {"expression": '"a green shape"', "limit": 60, "background": [mash], "min_z": 1.0}
    res = ok(api.post(f"{C}/search", json=body))
    rel = res["relative"]
    assert rel["sample"] == 300 and rel["background"] == [mash] and rel["min_z"] == 1.0
    q, bg = embed(api, "a green shape", "3hlufakjsdnfa3fnaj;ld")
    r_all = v @ q - v @ bg
    for h in res["hits"]:
        x = v[ids.index(h["id"])]
        assert h["relative_score"] == pytest.approx(x @ q - x @ bg, abs=1e-5)
        assert h["z"] == pytest.approx((x @ q - x @ bg - r_all.mean()) / r_all.std(), abs=1e-3)
        assert h["z"] >= 1.0
    top60 = np.argsort(-(v @ q))[:60]
    kept = [i for i in top60 if (r_all[i] - r_all.mean()) / r_all.std() >= 1.0]
    assert [h["id"] for h in res["hits"]] == [ids[i] for i in kept] and rel["cut"] == 60 - len(kept)
    pct = ok(api.post(f"{C}/search", json={"expression": '"a green shape"', "limit": 60, "min_percentile": 95}))
    assert all(h["percentile"] >= 95 for h in pct["hits"]) and 0 < len(pct["hits"]) < 60


@pytest.mark.parametrize(
    "extra",
    [{"min_percentile": 101}, {"relative_sample": 1}, {"background": ['"a" +']}, {"background": ['"x"'] * 17}],
)
def test_relative_search_refuses_bad_bodies(api: Any, extra: dict[str, Any]) -> None:
    r = api.post(f"{C}/search", json={"expression": '"a"', **extra})
    assert r.status_code == 422, r.text
