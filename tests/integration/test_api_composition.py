"""How the app is put together: one collection lookup per request, one invalid-body shape."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture()
def lookups(api, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The collection names the registry is asked for during the test."""
    registry = api.app.state.runtime.collections
    seen: list[str] = []
    real = registry.get

    def counting(principal: Any, name: str) -> Any:
        seen.append(name)
        return real(principal, name)

    monkeypatch.setattr(registry, "get", counting)
    return seen


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/collections/shapes/search", {"expression": '"red"', "limit": 3}),
        ("post", "/v1/collections/shapes/oppositions", {"a": '"red"', "b": '"blue"', "limit": 3}),
        ("post", "/v1/collections/shapes/path", {"expression": '"red"', "limit": 3}),
        ("get", "/v1/collections/shapes", None),
        ("get", "/v1/collections/shapes/concepts", None),
        ("get", "/v1/collections/shapes/templates", None),
    ],
)
def test_a_request_looks_its_collection_up_once(api, lookups, method: str, path: str, body: Any) -> None:  # type: ignore[no-untyped-def]
    r = api.request(method, path, json=body)
    assert r.status_code == 200, r.text
    assert lookups == ["shapes"]


def test_a_collection_classify_job_is_submitted_with_one_lookup(api, lookups) -> None:  # type: ignore[no-untyped-def]
    # A collection of its own: other tests read the shared collection's newest job as its ingest job.
    assert api.post("/v1/collections", json={"name": "composition"}).status_code == 201
    lookups.clear()
    r = api.post("/v1/collections/composition/classify", json={"set": "colour", "labels": ["red", "blue"]})
    assert r.status_code == 202, r.text
    assert lookups == ["composition"]
    api.app.state.runtime.queue.wait(r.json()["job_id"], timeout=120)


def test_a_point_is_read_with_one_lookup(api, lookups) -> None:  # type: ignore[no-untyped-def]
    hit = api.post("/v1/collections/shapes/search", json={"expression": '"red"', "limit": 1}).json()["hits"][0]
    lookups.clear()
    assert api.get(f"/v1/collections/shapes/points/{hit['id']}").status_code == 200
    assert lookups == ["shapes"]


def _invalid_request(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "invalid_request", detail
    assert field in [p["field"] for p in detail["problems"]], detail
    assert field in detail["message"]


def test_invalid_bodies_have_one_shape_json_multipart_and_ingest(api) -> None:  # type: ignore[no-untyped-def]
    _invalid_request(api.post("/v1/collections/shapes/search", json={"expression": '"a"', "limit": 0}), "limit")
    form = {"query": (None, '{"expression": "\\"a\\"", "nope": 1}')}
    _invalid_request(api.post("/v1/collections/shapes/search", files=form), "nope")
    _invalid_request(api.post("/v1/collections/shapes/ingest", json={"path": "/x", "extra": 1}), "extra")
    # The same shape as a body FastAPI validates itself.
    _invalid_request(api.post("/v1/embed", json={"texts": "not a list"}), "texts")


def test_search_hits_keep_their_json(api) -> None:  # type: ignore[no-untyped-def]
    plain = api.post("/v1/collections/shapes/search", json={"expression": '"red"', "limit": 2}).json()
    assert [set(h) for h in plain["hits"]] == [{"id", "score", "payload"}] * 2
    explained = api.post(
        "/v1/collections/shapes/search", json={"expression": '"red" - "blue"', "limit": 2, "explain": True}
    ).json()
    assert [set(h) for h in explained["hits"]] == [{"id", "score", "payload", "contributions"}] * 2
    assert [t["kind"] for t in explained["query"]["terms"]] == ["text", "text"]

