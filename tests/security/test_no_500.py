"""Bad input is a precise 4xx, never a 500, and an error never costs the client its connection.

Reproduces the review's 500s on a real server: numerals that ``str.isdigit`` accepts but the number
grammar does not ("²", "③", "①"), lone surrogates sent as JSON escapes ("\\udc30", which the error body
then failed to encode), and ``{"ids": []}`` on the path route (found by schemathesis). Each goes to every
route that parses expressions or takes text, over ONE keep-alive connection: before the fix the first 500
also made uvicorn drop that connection, so the next request on it failed with a reset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.security.support import SharedServer

COLLECTION = "no500"

# Raw JSON bodies: a lone surrogate can only be sent as the escape, so these are text, not dicts.
NUMERALS = ['²*\\"a\\"', "③", "①", '\\"a\\" + ٣*\\"b\\"']
SURROGATE = "\\udc30"


def _expression_bodies(expr: str) -> list[tuple[str, str, str]]:
    """(method, path, raw JSON body) for every route that parses ``expr`` as an expression."""
    c = f"/v1/collections/{COLLECTION}"
    return [
        ("POST", f"{c}/search", f'{{"expression": "{expr}"}}'),
        ("POST", f"{c}/oppositions", f'{{"a": "{expr}", "b": "\\"x\\""}}'),
        ("POST", f"{c}/oppositions", f'{{"a": "\\"x\\"", "b": "{expr}"}}'),
        ("POST", f"{c}/path", f'{{"expression": "{expr}"}}'),
        ("POST", f"{c}/path", f'{{"walk": {{"from": "{expr}", "to": "\\"x\\""}}}}'),
        ("PUT", f"{c}/concepts/fuzzy", f'{{"expression": "{expr}"}}'),
        ("POST", f"{c}/plane", f'{{"x": {{"a": "{expr}", "b": "\\"x\\""}}, "y": {{"a": "\\"y\\"", "b": "\\"z\\""}}}}'),
        ("POST", f"{c}/sweep", f'{{"expression": "\\"x\\"", "term": "{expr}", "weights": [0, -0.5]}}'),
        ("POST", f"{c}/search", f'{{"expression": "\\"x\\"", "background": ["{expr}"]}}'),
    ]


def _text_bodies(text: str) -> list[tuple[str, str, str]]:
    """Routes whose other text fields (not expressions) must refuse a lone surrogate too."""
    c = f"/v1/collections/{COLLECTION}"
    return [
        ("POST", f"{c}/search", f'{{"expression": "\\"{text}\\""}}'),  # inside a text term
        ("POST", f"{c}/oppositions", f'{{"a": "\\"a{text}\\"", "b": "\\"x\\""}}'),
        ("POST", "/v1/embed", f'{{"texts": ["{text}"]}}'),
        ("POST", "/v1/classify", f'{{"images": [{{"id": "1", "collection": "{COLLECTION}"}}], "labels": ["{text}"]}}'),
        ("POST", "/v1/similarity", f'{{"images": [{{"id": "1", "collection": "{COLLECTION}"}}], "texts": ["{text}"]}}'),
        ("PUT", f"{c}/concepts/fuzzy", f'{{"expression": "\\"a\\"", "description": "{text}"}}'),
        ("PUT", f"{c}/templates", f'{{"templates": ["a {{}} {text}"]}}'),
        ("POST", f"{c}/search", f'{{"expression": "\\"a\\"", "filter": {{"shape": ["{text}"]}}}}'),
        ("POST", "/v1/collections", f'{{"name": "{text}"}}'),
        ("POST", "/v1/admin/users", f'{{"name": "{text}", "role": "viewer"}}'),
        ("POST", "/v1/admin/keys", f'{{"role": "viewer", "name": "{text}"}}'),
    ]


DEGENERATE = [
    ("POST", f"/v1/collections/{COLLECTION}/path", '{"ids": []}'),
    ("POST", f"/v1/collections/{COLLECTION}/path", '{"ids": ["1", "1"]}'),
    ("POST", f"/v1/collections/{COLLECTION}/path", '{"ids": ["404"]}'),
    ("POST", f"/v1/collections/{COLLECTION}/path", '{"expression": "\\"a\\"", "limit": 0}'),
    ("POST", f"/v1/collections/{COLLECTION}/path", '{"walk": {"from": "\\"a\\"", "to": "\\"b\\"", "steps": 1}}'),
    ("POST", f"/v1/collections/{COLLECTION}/path", '{"walk": {"from": "\\"a\\"", "to": "-\\"a\\""}}'),
    ("POST", f"/v1/collections/{COLLECTION}/search", '{"expression": "\\"a\\" - \\"a\\""}'),
    ("POST", f"/v1/collections/{COLLECTION}/oppositions", '{"a": "\\"a\\"", "b": "\\"a\\""}'),
    ("POST", "/v1/embed", '{"texts": []}'),
    (
        "POST",
        f"/v1/collections/{COLLECTION}/plane",
        '{"x": {"a": "\\"a\\"", "b": "\\"a\\""}, "y": {"a": "\\"b\\"", "b": "\\"c\\""}}',
    ),
    ("POST", f"/v1/collections/{COLLECTION}/plane", '{"x": {"a": "\\"a\\""}, "y": {"a": "\\"b\\"", "b": "\\"c\\""}}'),
    (
        "POST",
        f"/v1/collections/{COLLECTION}/plane",
        '{"x": {"a": "\\"a\\"", "b": "\\"b\\""}, "y": {"a": "\\"b\\"", "b": "\\"c\\""}, "limit": 0}',
    ),
    ("POST", f"/v1/collections/{COLLECTION}/sweep", '{"expression": "\\"a\\"", "term": "\\"b\\"", "weights": []}'),
    ("POST", f"/v1/collections/{COLLECTION}/sweep", '{"expression": "\\"a\\"", "term": "\\"b\\"", "weights": [NaN]}'),
    ("POST", f"/v1/collections/{COLLECTION}/sweep", '{"expression": "\\"a\\"", "term": "\\"b\\"", "weights": [1e400]}'),
    ("POST", f"/v1/collections/{COLLECTION}/search", '{"expression": "\\"a\\"", "min_percentile": 101}'),
    ("POST", f"/v1/collections/{COLLECTION}/search", '{"expression": "\\"a\\"", "min_z": NaN}'),
    ("POST", "/v1/admin/keys", '{"expires_in_days": 2.5433128833796544e+24, "role": "editor"}'),  # schemathesis
    ("POST", "/v1/admin/keys", '{"expires_in_days": 1e400, "role": "editor"}'),
    ("POST", "/v1/similarity", f'{{"images": [], "texts": [], "collection": "{COLLECTION}"}}'),
]

CASES = (
    [b for n in NUMERALS for b in _expression_bodies(n)]
    + _expression_bodies(SURROGATE)
    + _text_bodies(SURROGATE)
    + DEGENERATE
)


@pytest.fixture(scope="module")
def owner(shared_server: SharedServer) -> Iterator[httpx.Client]:
    with shared_server.client("alpha", "owner") as client:
        assert client.post("/v1/collections", json={"name": COLLECTION}).status_code == 201
        yield client


def _port(response: httpx.Response) -> int:
    """The client-side port of the connection that carried ``response`` (same port: same connection)."""
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


@pytest.mark.parametrize(("method", "path", "body"), CASES, ids=[f"{m} {p} {b}" for m, p, b in CASES])
def test_bad_input_is_a_4xx_with_a_message(
    shared_server: SharedServer, owner: httpx.Client, method: str, path: str, body: str
) -> None:
    # A connection of its own: on the old code an earlier 500 would have reset a shared one.
    with shared_server.client("alpha", "owner") as client:
        r = client.request(method, path, content=body.encode(), headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, f"{method} {path} {body} -> {r.status_code} {r.text[:300]}"
    detail = r.json()["detail"]
    assert isinstance(detail["message"], str) and detail["message"], r.text
    assert isinstance(detail["code"], str) and detail["code"] != "internal_error", r.text


def test_a_lone_surrogate_is_named_with_its_field_and_position(owner: httpx.Client) -> None:
    r = owner.post("/v1/embed", content=b'{"texts": ["ok", "ab\\udc30"]}', headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "invalid_text"
    assert (detail["field"], detail["position"]) == ("texts.1", 2)
    assert "\\udc30" in detail["message"]

    r = owner.post(
        f"/v1/collections/{COLLECTION}/oppositions",
        content=b'{"a": "\\"x\\"", "b": "\\"y\\" + \\udc30"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"]["field"] == "b", r.text


def test_multipart_json_fields_refuse_lone_surrogates(owner: httpx.Client) -> None:
    # A form field's value is decoded from bytes, but the JSON inside it may still carry the escape.
    r = owner.post(
        f"/v1/collections/{COLLECTION}/search", files={"query": (None, json.dumps({"expression": "\udc30"}))}
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "invalid_text"


def test_every_former_500_keeps_the_connection_alive(owner: httpx.Client) -> None:
    """Each former 500 and then a plain request, all on one keep-alive connection: none is reset."""
    first = owner.get("/v1/collections")
    assert first.status_code == 200
    port = _port(first)
    for method, path, body in CASES:
        r = owner.request(method, path, content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code < 500, f"{method} {path} {body} -> {r.status_code}"
        after = owner.get(f"/v1/collections/{COLLECTION}")
        assert after.status_code == 200
        assert _port(r) == _port(after) == port, "the server closed the connection after an error"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "corrupt.parquet",
            b"PAR1" + b"\x00" * 64 + b"PAR1",
            "manifest corrupt.parquet is not a readable Parquet file",
        ),
        ("cut.parquet", b"PAR1\x15\x04", "manifest cut.parquet is not a readable Parquet file"),
        ("broken.jsonl", b'{"path": "a.png",\n', "manifest broken.jsonl: line 1 is not valid JSON"),
        ("array.jsonl", b'[{"path": "a.png"}]\n', "manifest array.jsonl: line 1 is a JSON array, not an object"),
    ],
)
def test_a_broken_manifest_is_a_422_naming_it(
    shared_server: SharedServer, owner: httpx.Client, name: str, content: bytes, message: str
) -> None:
    """A corrupt Parquet file was an unhandled pyarrow error (500); a malformed JSONL said 'is empty'."""
    folder = shared_server.roots / "alpha" / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    r = owner.post(f"/v1/collections/{COLLECTION}/ingest", json={"path": str(folder / name)})
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]["message"] and "empty" not in r.json()["detail"]["message"], r.text
