"""The browser guards' decisions as pure functions of an ASGI scope (services/api/guards.py)."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.guards import RequestGuards, is_in_process, parse_host, same_origin
from services.core.settings import Settings


def scope(
    method: str = "GET", path: str = "/v1/collections", client: str = "127.0.0.1", **headers: str
) -> dict[str, Any]:
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "headers": raw, "client": (client, 5000), "scheme": "http"}


def guards(**settings: Any) -> RequestGuards:
    async def app(*_: Any) -> None:
        return None

    return RequestGuards(app, Settings(_env_file=None, **settings))  # type: ignore[call-arg]


def status(g: RequestGuards, s: dict[str, Any]) -> int | None:
    refusal = g.refusal(s)
    return refusal[0] if refusal else None


def test_parse_host() -> None:
    assert parse_host("LocalHost:8000") == ("localhost", 8000)
    assert parse_host("[::1]:80") == ("[::1]", 80)
    assert parse_host("127.0.0.1") == ("127.0.0.1", None)
    for bad in ("", "a b", "evil.example@127.0.0.1", "127.0.0.1:80:80", "[::1"):
        assert parse_host(bad) is None, bad


def test_in_process_means_a_client_named_by_no_ip() -> None:
    assert is_in_process(scope(client="testclient"))
    assert not is_in_process(scope(client="127.0.0.1")) and not is_in_process(scope(client="::1"))
    assert not is_in_process({"type": "http", "client": None})


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost:8000", "localhost:8000", True),
        ("https://api.example.com", "api.example.com", True),  # TLS ended at a proxy: scheme not compared
        ("http://api.example.com", "api.example.com:80", True),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("http://evil.example:8000", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),
        ("file://", "127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", "127.0.0.1:8000", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


def test_local_mode_serves_loopback_hosts_only() -> None:
    g = guards()
    assert status(g, scope(host="evil.example:8000")) == 400
    assert status(g, scope(host="127.0.0.1.nip.io")) == 400
    assert status(g, scope()) == 400  # no Host at all
    for host in ("localhost", "127.0.0.1:8000", "[::1]:8000"):
        assert status(g, scope(host=host)) is None, host
    assert status(g, scope(host="testserver", client="testclient")) is None  # the CLI's in-process client


def test_required_mode_uses_allowed_hosts() -> None:
    assert status(guards(auth="required"), scope(host="anything.example")) is None  # default "*"
    g = guards(auth="required", allowed_hosts=["api.example.com", "*.corp.example"])
    assert status(g, scope(host="api.example.com")) is None and status(g, scope(host="a.corp.example")) is None
    assert status(g, scope(host="evil.example")) == 400


def test_writes_from_foreign_origins_are_refused() -> None:
    g = guards(allowed_origins=["https://App.Example.com/"])
    own = {"host": "127.0.0.1:8000", "content_type": "application/json", "content_length": "2"}
    assert status(g, scope("POST", origin="http://evil.example", **own)) == 403
    assert status(g, scope("DELETE", origin="null", host="127.0.0.1:8000")) == 403
    assert status(g, scope("GET", origin="http://evil.example", host="127.0.0.1:8000")) is None  # reads: Host guards
    assert status(g, scope("POST", origin="http://127.0.0.1:8000", **own)) is None
    assert status(g, scope("POST", origin="https://app.example.com", **own)) is None
    assert status(g, scope("POST", **own)) is None  # no Origin: not a browser's cross-origin request


@pytest.mark.parametrize(
    ("path", "ctype", "expected"),
    [
        ("/v1/collections", "application/json", None),
        ("/v1/collections", "application/json; charset=utf-8", None),
        ("/v1/collections", "text/plain", 415),
        ("/v1/collections", "application/x-www-form-urlencoded", 415),
        ("/v1/collections", "multipart/form-data; boundary=x", 415),
        ("/v1/collections", None, 415),
        ("/v1/collections/c/ingest", "multipart/form-data; boundary=x", None),
        ("/v1/collections/c/search", "multipart/form-data; boundary=x", None),
        ("/v1/collections/c/search", "text/plain;charset=UTF-8", 415),
        ("/internal/v1/collections/c/points", "text/plain", 415),
    ],
)
def test_bodies_must_be_json_or_multipart_where_uploads_are(path: str, ctype: str | None, expected: int | None) -> None:
    headers = {"host": "127.0.0.1", "content_length": "10"}
    if ctype:
        headers["content_type"] = ctype
    assert status(guards(), scope("POST", path, **headers)) == expected


def test_bodiless_writes_need_no_content_type() -> None:
    assert status(guards(), scope("POST", "/v1/jobs/j/resume", host="127.0.0.1")) is None
    assert status(guards(), scope("POST", "/v1/jobs/j/resume", host="127.0.0.1", content_length="0")) is None
    assert status(guards(), scope("POST", "/v1/x", host="127.0.0.1", transfer_encoding="chunked")) == 415
