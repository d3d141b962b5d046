"""Image terms from outside the collection: base64 JSON and multipart uploads, and centring."""

from __future__ import annotations

import json

import pytest

from tests.integration.query_helpers import b64, matched, ok, png, share

pytestmark = pytest.mark.integration

SEARCH = "/v1/collections/shapes/search"


def test_red_circle_upload_minus_red_plus_blue_finds_blue_circles(api) -> None:  # type: ignore[no-untyped-def]
    red_circle = png("red", "circle")
    res = ok(api.post(SEARCH, json={"expression": 'upload(0) - "red" + "blue"', "uploads": [b64(red_circle)]}))
    top = res["hits"][:10]
    # Blue, and mostly circles: a blue circle is 1 in 24 of the collection.
    assert share(top, color="blue") >= 0.9 and share(top, color="blue", shape="circle") >= 0.5
    assert [t["kind"] for t in res["query"]["terms"]] == ["upload", "text", "text"]


def test_search_by_image_alone(api) -> None:  # type: ignore[no-untyped-def]
    for color, shape, size, background in [("green", "star", "large", "snow"), ("yellow", "square", "small", "night")]:
        img = b64(png(color, shape, size, background))
        res = ok(api.post(SEARCH, json={"expression": "upload(0)", "uploads": [img], "limit": 10}))
        # Look-alikes: most attributes shared (by chance about 1.2 of the 4, here over 2.5), the colour nearly always.
        assert matched(res["hits"], color=color, shape=shape, size=size, background=background) >= 2.5
        assert share(res["hits"], color=color) >= 0.8


def test_multipart_search(api) -> None:  # type: ignore[no-untyped-def]
    files = [
        ("files", ("red.png", png("red", "circle"), "image/png")),
        ("files", ("sq.png", png("yellow", "square"), "image/png")),
    ]
    res = ok(api.post(SEARCH, files=files, data={"expression": 'upload(0) - "red" + "blue"', "limit": "10"}))
    assert share(res["hits"], color="blue") >= 0.9 and share(res["hits"], color="blue", shape="circle") >= 0.5
    # The request as one JSON field; the second file is upload(1).
    query = json.dumps({"expression": "upload(1)", "limit": 10, "explain": True})
    res = ok(api.post(SEARCH, files=files, data={"query": query}))
    assert matched(res["hits"], color="yellow", shape="square", size="large", background="desert") >= 2.5
    assert "contributions" in res["hits"][0]


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"json": {"expression": "upload(1)", "uploads": ["{img}"]}}, 422, "1 image(s)"),
        ({"json": {"expression": "upload(0)"}}, 422, "0 image(s)"),
        ({"json": {"expression": "upload(0)", "uploads": ["not base64!"]}}, 422, "base64"),
        ({"json": {"expression": "upload(0)", "uploads": ["aGVsbG8="]}}, 422, "not an image"),
        ({"data": {"expression": "upload(0)"}, "files": [("files", ("x.txt", b"hi", "text"))]}, 422, "not an image"),
        ({"data": {"expression": "upload(0)"}, "files": [("other", ("x.png", b"x", "image/png"))]}, 422, "files"),
        ({"data": {"query": "{nope"}, "files": [("files", ("a.png", "{png}", "image/png"))]}, 422, "JSON"),
        ({"data": {"limit": "3"}, "files": [("files", ("a.png", "{png}", "image/png"))]}, 422, "expression"),
        ({"data": {"expression": "upload(0)", "bogus": "1"}, "files": [("files", ("a", "{png}", "x"))]}, 422, "bogus"),
    ],
)
def test_bad_uploads(api, kwargs, status, fragment) -> None:  # type: ignore[no-untyped-def]
    img = png("red", "circle")
    if "json" in kwargs:
        kwargs["json"]["uploads"] = [b64(img) if u == "{img}" else u for u in kwargs["json"].get("uploads", [])] or None
    if "files" in kwargs:
        kwargs["files"] = [(k, (n, img if d == "{png}" else d, t)) for k, (n, d, t) in kwargs["files"]]
    r = api.post(SEARCH, **kwargs)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]["message"]


def test_both_kinds_of_upload_at_once_are_refused(api) -> None:  # type: ignore[no-untyped-def]
    img = png("red", "circle")
    query = json.dumps({"expression": "upload(0)", "uploads": [b64(img)]})
    r = api.post(SEARCH, files=[("files", ("a.png", img, "image/png"))], data={"query": query})
    assert r.status_code == 422 and "not both" in r.json()["detail"]["message"]


def test_centring_reduces_the_image_terms_dominance(api) -> None:  # type: ignore[no-untyped-def]
    """The documented before/after: a red circle + "blue" is all red circles naively, bluer when centred."""
    body = {"expression": 'upload(0) + "blue"', "uploads": [b64(png("red", "circle"))], "limit": 20}
    naive = ok(api.post(SEARCH, json=body))
    centred = ok(api.post(SEARCH, json={**body, "center": True}))
    assert centred["query"]["centered"] is True and naive["query"]["centered"] is False
    assert share(centred["hits"], color="blue") >= 0.7
    assert share(centred["hits"], color="blue") >= share(naive["hits"], color="blue") + 0.2
    assert share(centred["hits"], size="large") >= 0.7  # the image still counts
    gap = ok(api.get("/v1/collections/shapes/modality"))
    assert gap["points"] == 300 and gap["means"]["image"]["count"] == 300
    assert gap["gap"]["cosine"] < 0.9
