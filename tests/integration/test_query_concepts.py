"""Saved concepts, prompt templates and the modality endpoint through the real app."""

from __future__ import annotations

import pytest

from tests.integration.query_helpers import mini_collection, ok, share  # noqa: F401

pytestmark = pytest.mark.integration

C = "/v1/collections/shapes/concepts"


def _search(api, expression: str, collection: str = "shapes", **kw):  # type: ignore[no-untyped-def]
    return ok(api.post(f"/v1/collections/{collection}/search", json={"expression": expression, "limit": 20} | kw))


def test_save_use_list_replace_delete(api, encoder) -> None:  # type: ignore[no-untyped-def]
    r = api.put(f"{C}/big", json={"expression": 'axis("large",   "small")', "description": "size axis"})
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["expression"] == 'axis("large", "small")'  # canonical form
    assert saved["model"] == encoder.model_id and saved["created_by"]
    assert saved["query"]["terms"][0]["kind"] == "axis"
    # @big stands for the unit vector of its expression: axis("large", "small") scaled by 1/‖large − small‖.
    axis_norm = _search(api, 'axis("large", "small")')["query"]["terms"][0]["norm"]
    assert 0.1 < axis_norm < 2
    via = _search(api, '@big + "a red shape"')
    direct = _search(api, f'{1 / axis_norm!r}*axis("large", "small") + "a red shape"')
    # Same scores, rank by rank; ids may swap only among hits whose scores tie (to float rounding).
    assert [h["score"] for h in via["hits"]] == pytest.approx([h["score"] for h in direct["hits"]], abs=1e-5)
    cutoff = via["hits"][-1]["score"] + 1e-4
    assert {h["id"] for h in via["hits"] if h["score"] > cutoff} == {
        h["id"] for h in direct["hits"] if h["score"] > cutoff
    }
    assert share(via["hits"], size="large", color="red") >= 0.6
    assert via["query"]["terms"][0] == {"text": "@big", "kind": "concept", "weight": 1.0, "norm": pytest.approx(1.0)}
    # Concepts can use concepts; replacing one changes what uses it.
    assert api.put(f"{C}/big-red", json={"expression": '@big + "red"'}).status_code == 201
    assert share(_search(api, "@big-red")["hits"], size="large", color="red") >= 0.6
    r = api.put(f"{C}/big", json={"expression": 'axis("small", "large")'})
    assert r.status_code == 200 and r.json()["created_at"] == saved["created_at"]
    assert share(_search(api, "@big-red")["hits"], size="small", color="red") >= 0.6
    names = [c["name"] for c in ok(api.get(C))["concepts"]]
    assert names == sorted(names) and {"big", "big-red"} <= set(names)
    assert ok(api.get(f"{C}/big"))["description"] == ""
    assert api.delete(f"{C}/big-red").status_code == 204
    assert api.get(f"{C}/big-red").status_code == 404
    assert api.delete(f"{C}/big-red").status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "status", "fragment"),
    [
        ("bad name", {"expression": '"x"'}, 422, "invalid concept name"),
        ("up", {"expression": 'upload(0) + "x"'}, 422, "upload(0)"),
        ("self", {"expression": '@self + "x"'}, 422, "refers to itself"),
        ("missing", {"expression": '@no-such-concept + "x"'}, 404, "no-such-concept"),
        ("bad", {"expression": '"x" +'}, 422, "end"),
        ("ghost", {"expression": 'image(0e7c8b1e-3f7e-4a56-9c1e-000000000000)'}, 404, "does not exist"),
        ("empty", {"expression": '"x" - "x"'}, 422, "zero length"),
        ("extra", {"expression": '"x"', "weight": 2}, 422, "weight"),
    ],
)
def test_bad_concepts(api, name, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    r = api.put(f"{C}/{name}", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]["message"]


def test_indirect_cycles_are_refused(api) -> None:  # type: ignore[no-untyped-def]
    assert api.put(f"{C}/ping", json={"expression": '"red"'}).status_code == 201
    assert api.put(f"{C}/pong", json={"expression": '@ping + "blue"'}).status_code == 201
    r = api.put(f"{C}/ping", json={"expression": '@pong + "green"'})
    assert r.status_code == 422 and "@ping → @pong → @ping" in r.json()["detail"]["message"]


def test_unknown_concept_in_a_search_is_404(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/shapes/search", json={"expression": '@nowhere + "red"'})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "concept_not_found"


def test_concepts_belong_to_their_collection_and_go_with_it(api, shapes_samples) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/v1/collections", json={"name": "scratch"}).status_code == 201
    assert api.put("/v1/collections/scratch/concepts/mine", json={"expression": '"red"'}).status_code == 201
    assert api.get(f"{C}/mine").status_code == 404  # not visible from another collection
    assert api.delete("/v1/collections/scratch").status_code == 204
    assert api.post("/v1/collections", json={"name": "scratch"}).status_code == 201
    assert ok(api.get("/v1/collections/scratch/concepts"))["concepts"] == []
    assert api.delete("/v1/collections/scratch").status_code == 204


def test_templates_apply_to_text_terms(api, mini) -> None:  # type: ignore[no-untyped-def]
    base = f"/v1/collections/{mini}/templates"
    assert ok(api.get(base))["templates"] == []
    plain = _search(api, '"red"', mini, limit=10)  # "mini" has ~13 red shapes
    r = api.put(base, json={"templates": ["a {} shape", "something {}"]})
    assert r.status_code == 200 and r.json()["templates"] == ["a {} shape", "something {}"]
    templated = _search(api, '"red"', mini, limit=10)
    assert templated["query"]["templates"] == ["a {} shape", "something {}"]
    assert [h["score"] for h in templated["hits"]] != [h["score"] for h in plain["hits"]]
    assert share(templated["hits"], color="red") >= 0.8
    # Per request they can be switched off; then the scores are the plain ones again.
    off = _search(api, '"red"', mini, templates=False, limit=10)
    assert off["query"]["templates"] == []
    assert [h["score"] for h in off["hits"]] == pytest.approx([h["score"] for h in plain["hits"]], abs=1e-5)
    assert api.put(base, json={"templates": ["no slot"]}).status_code == 422
    assert api.delete(base).status_code == 204
    assert ok(api.get(base))["templates"] == []


def test_modality_endpoint(api) -> None:  # type: ignore[no-untyped-def]
    m = ok(api.get("/v1/collections/shapes/modality"))
    assert set(m["means"]) == {"image", "text"}
    assert 0 < m["means"]["image"]["norm"] < 1 and 0 < m["means"]["text"]["norm"] < 1
    again = ok(api.get("/v1/collections/shapes/modality", params={"refresh": True}))
    assert again["gap"]["cosine"] == pytest.approx(m["gap"]["cosine"], abs=1e-6)
