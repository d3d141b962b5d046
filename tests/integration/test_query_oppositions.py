"""Oppositions and axes through the real app: shapes-clip, Qdrant Edge, the sample collection."""

from __future__ import annotations

import pytest

from tests.integration.query_helpers import ok, share

pytestmark = pytest.mark.integration


def _opp(api, **body):  # type: ignore[no-untyped-def]
    return ok(api.post("/v1/collections/shapes/oppositions", json={"limit": 20, **body}))


def test_large_versus_small_puts_large_objects_first(api) -> None:  # type: ignore[no-untyped-def]
    res = _opp(api, a='"large"', b='"small"')
    assert share(res["a"]["hits"], size="large") >= 0.9
    assert share(res["b"]["hits"], size="small") >= 0.9
    for pole in ("a", "b"):
        deltas = [h["delta"] for h in res[pole]["hits"]]
        assert deltas == sorted(deltas, reverse=True)
    for h in res["a"]["hits"]:
        assert h["delta"] == pytest.approx(h["sim_a"] - h["sim_b"], abs=1e-4)
    for h in res["b"]["hits"]:
        assert h["delta"] == pytest.approx(h["sim_b"] - h["sim_a"], abs=1e-4)
    # Every pole-a hit leans to "large" more than every pole-b hit does.
    lowest_a = min(h["sim_a"] - h["sim_b"] for h in res["a"]["hits"])
    assert lowest_a > max(h["sim_a"] - h["sim_b"] for h in res["b"]["hits"])
    assert res["a"]["query"]["expression"] == '"large"' and res["b"]["query"]["expression"] == '"small"'
    assert 0 < res["axis_norm"] <= 2


def test_poles_are_exact_over_the_whole_collection(api) -> None:  # type: ignore[no-untyped-def]
    """Pole a with limit = every point is the collection sorted by sim_a − sim_b, with nothing left out."""
    res = _opp(api, a='"night"', b='"snow"', limit=300)
    deltas = [h["sim_a"] - h["sim_b"] for h in res["a"]["hits"]]
    assert len(deltas) == 300 and deltas == sorted(deltas, reverse=True)
    assert [h["id"] for h in res["b"]["hits"]] == [h["id"] for h in reversed(res["a"]["hits"])]


def test_composite_poles_explain_and_histogram(api) -> None:  # type: ignore[no-untyped-def]
    res = _opp(api, a='"a red shape" + 0.5*"circle"', b='"a blue shape"', limit=5, explain=True, histogram=10)
    for h in res["a"]["hits"]:
        assert sum(h["contributions"]["a"].values()) == pytest.approx(h["sim_a"], abs=1e-4)
        assert sum(h["contributions"]["b"].values()) == pytest.approx(h["sim_b"], abs=1e-4)
        assert set(h["contributions"]["a"]) == {'"a red shape"', '"circle"'}
    assert share(res["a"]["hits"], color="red") >= 0.8 and share(res["b"]["hits"], color="blue") >= 0.8
    hist = res["histogram"]
    assert sum(hist["counts"]) == hist["points"] == 300 and len(hist["edges"]) == 11
    assert hist["edges"][-1] == pytest.approx(res["a"]["hits"][0]["sim_a"] - res["a"]["hits"][0]["sim_b"], abs=1e-4)


def test_axis_term_in_a_search_expression(api) -> None:  # type: ignore[no-untyped-def]
    res = ok(api.post("/v1/collections/shapes/search", json={"expression": 'axis("large", "small")', "limit": 20}))
    assert share(res["hits"], size="large") >= 0.9
    combined = ok(
        api.post(
            "/v1/collections/shapes/search",
            json={"expression": 'axis("large", "small") + "a yellow shape"', "limit": 20},
        )
    )
    assert share(combined["hits"], size="large", color="yellow") >= 0.6
    assert combined["query"]["terms"][0]["kind"] == "axis"


def test_filters_apply_to_both_poles(api) -> None:  # type: ignore[no-untyped-def]
    res = _opp(api, a='"large"', b='"small"', filter={"shape": "star"})
    assert all(h["payload"]["shape"] == "star" for pole in ("a", "b") for h in res[pole]["hits"])


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"a": '"red"', "b": '"red"'}, 422, "same"),
        ({"a": '"red"', "b": '"blue" +'}, 422, "end"),
        ({"a": '"red"', "b": '"blue"', "limit": 100_000}, 422, "limit"),
        ({"a": '"red"', "b": '"blue"', "histogram": 5, "filter": {"shape": "star"}}, 422, "filter"),
        ({"a": '"red"', "b": '"blue"', "histogram": 10_000}, 422, "bins"),
        ({"a": '"red"'}, 422, "b"),
        ({"a": '"red"', "b": "upload(0)"}, 422, "upload(0)"),
    ],
)
def test_bad_opposition_requests(api, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/shapes/oppositions", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]["message"]


def test_unknown_collection_is_404(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/nope/oppositions", json={"a": '"red"', "b": '"blue"'})
    assert r.status_code == 404
