"""The SSRF-safe fetcher against a real HTTP server on 127.0.0.1 (allowed only through the allowlist).

Refused targets are refused before any connection: no traffic leaves loopback.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from services.core.errors import FetchError
from services.core.settings import FetchSettings
from services.sources.fetch import SafeFetcher, is_internal

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Handler.hits.append(self.path)
        routes = {
            "/ok.png": (200, {"Content-Type": "image/png"}, PNG),
            "/octet": (200, {"Content-Type": "application/octet-stream"}, PNG),
            "/page.html": (200, {"Content-Type": "text/html"}, b"<html></html>"),
            "/big.png": (200, {"Content-Type": "image/png"}, b"x" * 5000),
            "/flaky": (503, {}, b""),
            "/to-ok": (302, {"Location": "/ok.png"}, b""),
            "/to-private": (302, {"Location": "http://10.0.0.7/secret.png"}, b""),
            "/to-metadata": (301, {"Location": "http://169.254.169.254/latest/"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
        }
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def fetcher(**kw: object) -> SafeFetcher:
    base = {"allow_networks": ["127.0.0.1/32"], "max_bytes": 1000, "attempts": 2, "timeout_s": 3.0}
    return SafeFetcher(FetchSettings(**{**base, **kw}))  # type: ignore[arg-type]


def test_fetches_an_image_from_an_allowed_host(server: str) -> None:
    f = fetcher()
    assert f(f"{server}/ok.png") == PNG
    assert f(f"{server}/octet") == PNG
    assert f(f"{server}/to-ok") == PNG  # a redirect within the allowed network


def test_loopback_is_refused_without_the_allowlist(server: str) -> None:
    Handler.hits.clear()
    f = SafeFetcher(FetchSettings())
    for url in (f"{server}/ok.png", server.replace("127.0.0.1", "localhost") + "/ok.png", "http://[::1]/x.png"):
        with pytest.raises(FetchError, match="refused"):
            f(url)
    assert Handler.hits == []  # refused before connecting


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/a.png",
        "http://192.168.0.1/a.png",
        "http://172.16.5.4/a.png",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/cgnat.png",
        "http://0.0.0.0/a.png",
        "http://224.0.0.1/multicast.png",
        "http://[fd00::1]/a.png",
        "http://[::ffff:10.0.0.1]/mapped.png",
        "http://2130706433/decimal-loopback.png",
    ],
)
def test_private_link_local_reserved_and_disguised_addresses_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="refused") as info:
        SafeFetcher(FetchSettings())(url)
    assert not info.value.transient


def test_redirects_are_checked_again(server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="services.sources.fetch")
    with pytest.raises(FetchError, match="refused: the host resolves to a private or internal address"):
        fetcher()(f"{server}/to-private")
    with pytest.raises(FetchError, match="refused: the host resolves to a private or internal address"):
        fetcher()(f"{server}/to-metadata")
    # The addresses reached by the redirects are in the server log only.
    assert "10.0.0.7" in caplog.text and "169.254.169.254" in caplog.text
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher(max_redirects=3)(f"{server}/loop")


def test_status_content_type_and_size(server: str) -> None:
    f = fetcher()
    with pytest.raises(FetchError, match="HTTP 404") as e404:
        f(f"{server}/missing.png")
    assert not e404.value.transient
    with pytest.raises(FetchError, match=r"not an image.*text/html"):
        f(f"{server}/page.html")
    with pytest.raises(FetchError, match="over the limit of 1,000"):
        f(f"{server}/big.png")
    Handler.hits.clear()
    with pytest.raises(FetchError, match=r"HTTP 503 \(after 2 tries\)") as e503:
        f(f"{server}/flaky")
    assert e503.value.transient and Handler.hits == ["/flaky", "/flaky"]


def test_schemes_credentials_and_unresolvable_hosts() -> None:
    f = fetcher()
    for url, msg in (
        ("file:///etc/passwd", "unsupported URL scheme"),
        ("ftp://example.invalid/a.png", "unsupported URL scheme"),
        ("http://user:pw@example.invalid/a.png", "credentials"),
        ("http://no-such-host.invalid/a.png", "cannot resolve"),
    ):
        with pytest.raises(FetchError, match=msg):
            f(url)


def test_a_refusal_names_no_resolved_address() -> None:
    # The reason reaches the job's owner (GET /v1/jobs/{id}): it must not say what an internal name resolves to.
    f = SafeFetcher(FetchSettings(), resolver=lambda host, port: ["10.20.30.40"])
    with pytest.raises(FetchError) as info:
        f("http://billing.internal.corp/a.png")
    reason = info.value.message
    assert reason.startswith("refused: the host resolves to a private or internal address"), reason
    assert "10.20.30.40" not in reason and "billing" not in reason


def test_every_resolved_address_must_be_public() -> None:
    # A name that resolves to a public and a private address is refused (the private one could be used).
    f = SafeFetcher(FetchSettings(), resolver=lambda host, port: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(FetchError, match="refused"):
        f.check("http://mixed.example/a.png")
    assert not is_internal(ipaddress.ip_address("93.184.216.34"))
    assert is_internal(ipaddress.ip_address("::1")) and is_internal(ipaddress.ip_address("198.18.0.1"))
