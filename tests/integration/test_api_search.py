"""Expression search through the real app: shapes-clip, Qdrant Edge, the sample collection."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.integration


def _search(api, expression: str, **kw):  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/shapes/search", json={"expression": expression, "limit": 20, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def _share(hits, **attrs) -> float:  # type: ignore[no-untyped-def]
    return sum(all(h["payload"][k] == v for k, v in attrs.items()) for h in hits) / len(hits)


def _available(samples, **attrs) -> int:  # type: ignore[no-untyped-def]
    """How many images in the sample collection have these attributes (300 images: ~12 per colour×shape)."""
    rows = [json.loads(line) for line in (samples / "manifest.jsonl").read_text().splitlines()]
    return sum(all(r[k] == v for k, v in attrs.items()) for r in rows)


def test_ingest_job_stored_everything(api) -> None:  # type: ignore[no-untyped-def]
    jobs = api.get("/v1/jobs", params={"collection": "shapes"}).json()["jobs"]
    ingest = next(j for j in jobs if j["source"].get("kind") == "path")  # map/duplicates jobs run on shapes too
    job = api.get(f"/v1/jobs/{ingest['job_id']}").json()
    assert (job["state"], job["total"], job["done"], job["failed"], job["errors"]) == ("done", 300, 300, 0, [])
    assert job["timings"]["embed_seconds"] > 0
    assert api.get("/v1/collections/shapes").json()["points"] == 300


def test_red_circle_minus_red_plus_blue_finds_blue_circles(api, shapes_samples) -> None:  # type: ignore[no-untyped-def]
    k = min(20, _available(shapes_samples, color="blue", shape="circle"))
    assert k >= 8
    res = _search(api, '"a red circle" - "red" + "blue"', limit=k)
    assert _share(res["hits"], color="blue", shape="circle") >= 0.9
    assert res["query"]["expression"] == '"a red circle" - "red" + "blue"'
    assert [t["weight"] for t in res["query"]["terms"]] == [1.0, -1.0, 1.0]
    scores = [h["score"] for h in res["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_plain_text_search_and_filters(api) -> None:  # type: ignore[no-untyped-def]
    assert _share(_search(api, '"a star"')["hits"], shape="star") >= 0.9
    res = _search(api, '"a shape"', filter={"color": "green"})
    assert res["hits"] and all(h["payload"]["color"] == "green" for h in res["hits"])
    res = _search(
        api,
        '"a circle"',
        filter={
            "must": [{"key": "shape", "match": {"any": ["circle"]}}],
            "must_not": [{"key": "background", "match": {"value": "snow"}}],
        },
    )
    assert all(h["payload"]["shape"] == "circle" and h["payload"]["background"] != "snow" for h in res["hits"])
    assert res["warnings"] == []  # every key is a payload key


def test_a_filter_on_a_misspelt_key_warns_instead_of_silently_finding_nothing(api) -> None:  # type: ignore[no-untyped-def]
    res = _search(api, '"a shape"', filter={"colr": "green"})
    assert res["hits"] == []
    [warning] = res["warnings"]
    # 300 points: more than one sample page, so the message says it looked at a sample.
    assert "filter key 'colr' is in none of the 256 payloads sampled from collection 'shapes'" in warning
    assert "did you mean 'color'?" in warning and "alt_text" in warning and "shape" in warning
    nested = _search(api, '"a shape"', filter={"must_not": [{"key": "exif.iso", "range": {"gte": 100}}]})
    assert nested["hits"] and "'exif'" in nested["warnings"][0]
    assert _search(api, '"a shape"', filter={"color": "green", "shape.x": "y"})["warnings"] == []
    openapi = api.get("/openapi.json").json()["components"]["schemas"]["SearchResponse"]["properties"]
    assert openapi["warnings"]["type"] == "array"


def test_weights_change_results(api) -> None:  # type: ignore[no-untyped-def]
    base = _search(api, '"a large square"')["hits"]
    night = _search(api, '"a large square" + 2*"night"')["hits"]
    assert _share(night, background="night") > _share(base, background="night")
    assert _share(night, background="night") >= 0.8


def test_explain_contributions_sum_to_score(api) -> None:  # type: ignore[no-untyped-def]
    res = _search(api, '"a red circle" - 0.5*"red" + 0.5*"blue"', explain=True)
    for h in res["hits"]:
        assert set(h["contributions"]) == {'"a red circle"', '"red"', '"blue"'}
        assert sum(h["contributions"].values()) == pytest.approx(h["score"], abs=1e-4)


def test_image_term_finds_the_point_itself_and_image_math_works(api) -> None:  # type: ignore[no-untyped-def]
    red = _search(api, '"a large red circle in the desert"')["hits"][0]
    res = _search(api, f"image({red['id']})")
    assert res["hits"][0]["id"] == red["id"] and res["hits"][0]["score"] == pytest.approx(1.0, abs=1e-3)
    moved = _search(api, f'image({red["id"]}) - "red" + "blue"')["hits"]
    assert _share(moved[:10], color="blue") >= 0.8


def test_text_vector_search(api, shapes_samples) -> None:  # type: ignore[no-untyped-def]
    k = min(20, _available(shapes_samples, color="purple", shape="triangle"))
    res = _search(api, '"a purple triangle"', vector="text", limit=k)
    assert _share(res["hits"], color="purple", shape="triangle") >= 0.8
    assert res["query"]["vector"] == "text"


def test_offset_pages_are_consistent(api) -> None:  # type: ignore[no-untyped-def]
    full = [h["id"] for h in _search(api, '"a yellow star"', limit=20)["hits"]]
    page2 = [h["id"] for h in _search(api, '"a yellow star"', limit=10, offset=10)["hits"]]
    assert page2 == full[10:20]


@pytest.mark.parametrize(
    ("expression", "position", "fragment"),
    [
        ('"a red circle" - ', 17, "end"),
        ('"a red circle" * "blue"', 15, "*"),
        ('("red" + "blue"', 15, ")"),
        ("imag(3)", 0, "unknown function"),
        ('"unterminated', 0, "unterminated"),
        ('"a" - "a"', 0, "zero length"),
    ],
)
def test_malformed_expressions_get_422_with_position(api, expression, position, fragment) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/shapes/search", json={"expression": expression})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert fragment in detail["message"]
    if detail["code"] == "invalid_expression":
        assert detail["position"] == position


def test_unknown_things_are_404(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/nope/search", json={"expression": '"red"'})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "collection_not_found"
    missing = uuid.uuid4()
    r = api.post("/v1/collections/shapes/search", json={"expression": f'image({missing}) + "red"'})
    assert r.status_code == 404 and str(missing) in r.json()["detail"]["message"]
    assert api.get(f"/v1/jobs/{missing}").status_code == 404
    assert api.get(f"/v1/collections/shapes/points/{missing}").status_code == 404


def test_limits_are_enforced(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections/shapes/search", json={"expression": '"red"', "limit": 100_000})
    assert r.status_code == 422 and "limit" in r.json()["detail"]["message"]
    r = api.post("/v1/collections/shapes/search", json={"expression": " + ".join(['"red"'] * 100)})
    assert r.status_code == 422 and "terms" in r.json()["detail"]["message"]
    r = api.post("/v1/collections/shapes/search", json={"expression": '"red"', "filter": {"must": "x"}})
    assert r.status_code == 422


def test_points_and_thumbnails(api) -> None:  # type: ignore[no-untyped-def]
    hit = _search(api, '"blue"')["hits"][0]
    p = api.get(f"/v1/collections/shapes/points/{hit['id']}", params={"with_vectors": True}).json()
    assert p["payload"]["source"].endswith(".png") and len(p["vectors"]["image"]) > 0
    img = api.get(f"/v1/collections/shapes/points/{hit['id']}/image", params={"size": 32})
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"


def test_embed_returns_unit_vectors(api) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    r = api.post("/v1/embed", json={"texts": ["red", "a blue circle"]})
    v = np.asarray(r.json()["vectors"])
    assert v.shape[0] == 2 and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert api.post("/v1/embed", json={"texts": []}).status_code == 422
    assert api.post("/v1/embed", json={"images": ["not base64!"]}).status_code == 422


def test_healthz_and_metrics(api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/healthz").json()["status"] == "ok"
    body = api.get("/metrics").text
    assert "signifier_query_seconds" in body and "signifier_ingest_items_total" in body
