"""Paths through embedding space and walks, through the real app."""

from __future__ import annotations

import itertools
import random

import pytest

from tests.integration.query_helpers import ok

pytestmark = pytest.mark.integration

P = "/v1/collections/shapes/path"


def _ids(api, expression: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    hits = ok(api.post("/v1/collections/shapes/search", json={"expression": expression, "limit": n}))["hits"]
    return [h["id"] for h in hits]


def test_path_is_shorter_than_the_input_order(api) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(api, '"a shape"', 40)
    random.Random(0).shuffle(ids)
    res = ok(api.post(P, json={"ids": ids}))
    assert sorted(h["id"] for h in res["order"]) == sorted(ids)
    assert res["length"] < 0.7 * res["input_length"]
    assert res["length"] == pytest.approx(sum(h["step"] for h in res["order"]), abs=1e-5)
    assert res["order"][0]["step"] == 0
    # Neighbours on the path are alike: most consecutive pairs share a colour or a shape.
    p = [h["payload"] for h in res["order"]]
    alike = sum(a["color"] == b["color"] or a["shape"] == b["shape"] for a, b in itertools.pairwise(p))
    assert alike >= 0.6 * (len(p) - 1)


def test_path_from_a_given_start_and_from_an_expression(api) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(api, '"a circle"', 15)
    res = ok(api.post(P, json={"ids": ids, "start": ids[7]}))
    assert res["order"][0]["id"] == ids[7]
    res = ok(api.post(P, json={"expression": '"a large star"', "limit": 12}))
    assert len(res["order"]) == 12 and res["query"]["expression"] == '"a large star"'
    assert res["length"] <= res["input_length"]


def test_walk_from_red_to_blue(api) -> None:  # type: ignore[no-untyped-def]
    res = ok(api.post(P, json={"walk": {"from": '"a red circle"', "to": '"a blue square"', "steps": 8}}))
    steps = res["walk"]
    assert len(steps) == 8 and len({s["id"] for s in steps}) == 8
    assert [s["t"] for s in steps] == pytest.approx([i / 7 for i in range(8)])
    assert steps[0]["payload"]["color"] == "red" and steps[-1]["payload"]["color"] == "blue"
    assert res["order"] == []


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 422, "give 'ids'"),
        ({"ids": ["a"], "expression": '"x"'}, 422, "not both"),
        ({"ids": ["0e7c8b1e-3f7e-4a56-9c1e-000000000000"]}, 404, "does not exist"),
        ({"expression": '"x"', "limit": 100_000}, 422, "at most"),
        ({"walk": {"from": '"x"', "to": '"y"', "steps": 100_000}}, 422, "at most"),
        ({"walk": {"from": '"x"', "to": '"y"', "steps": 1}}, 422, "greater than or equal"),
        ({"expression": '"x"', "start": "0e7c8b1e-3f7e-4a56-9c1e-000000000000"}, 422, "not one of"),
    ],
)
def test_bad_path_requests(api, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    r = api.post(P, json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]["message"]


def test_duplicate_ids_are_refused(api) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(api, '"red"', 3)
    r = api.post(P, json={"ids": [*ids, ids[0]]})
    assert r.status_code == 422 and "twice" in r.json()["detail"]["message"]
