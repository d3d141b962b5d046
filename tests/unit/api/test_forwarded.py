"""The trusted-proxy rewrite (services/api/forwarded.py): only listed peers, only IP clients."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.api.forwarded import ForwardedClient


def run(peer: str, trusted: list[str], **headers: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    seen: dict[str, Any] = {}
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], *_: Any) -> None:
        seen.update(scope)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": raw, "client": (peer, 1234), "scheme": "http"}
    # On a thread of its own: an earlier test in the session may have left an event loop running here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, ForwardedClient(app, trusted)(scope, receive, send)).result()  # type: ignore[arg-type]
    return (seen or None), sent


def test_untrusted_peers_keep_their_address() -> None:
    seen, _ = run("127.0.0.1", [], x_forwarded_for="203.0.113.9")
    assert seen is not None and seen["client"] == ("127.0.0.1", 1234)
    seen, _ = run("198.51.100.1", ["127.0.0.1/32"], x_forwarded_for="garbage")
    assert seen is not None and seen["client"] == ("198.51.100.1", 1234)


def test_a_trusted_proxy_names_the_client() -> None:
    seen, _ = run("10.0.0.2", ["10.0.0.0/8"], x_forwarded_for="203.0.113.9, 10.0.0.7", x_forwarded_proto="https")
    assert seen is not None and seen["client"] == ("203.0.113.9", 0) and seen["scheme"] == "https"
    seen, _ = run("127.0.0.1", ["127.0.0.1"], x_forwarded_for="[2001:db8::1]:443")
    assert seen is not None and seen["client"] == ("2001:db8::1", 0)


def test_a_forwarded_client_that_is_not_an_ip_is_refused() -> None:
    for value in ("garbage", "testclient", "", "unix:/tmp/x"):
        seen, sent = run("127.0.0.1", ["127.0.0.1"], x_forwarded_for=value)
        assert seen is None and sent[0]["status"] == 400, value
