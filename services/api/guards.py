"""Guards against web pages: what a browser can send to this server without the user meaning to.

With ``SIGNIFIER_AUTH=local`` every keyless request from loopback acts as the owner, so any page the
user opens could drive the API: a form or ``fetch`` "simple request" (``text/plain``, form-encoded or
multipart body, no CORS preflight) from another origin, or, with DNS rebinding, a page whose own name
now resolves to 127.0.0.1 and which can therefore also read the answers. One ASGI middleware, in
front of every route, refuses all of these before any route or body parser runs:

1. **Host** (400): with ``auth=local`` only ``localhost``, ``127.0.0.1`` and ``[::1]`` (any port), which
   is what a browser sends for the real UI and never for a rebound name; with ``auth=required`` the
   ``SIGNIFIER_ALLOWED_HOSTS`` patterns (default ``*``: keys protect every route there).
2. **Origin** (403): a POST, PUT, PATCH or DELETE whose ``Origin`` header is neither the server's own
   (the Host the request was sent to) nor in ``SIGNIFIER_ALLOWED_ORIGINS``. Browsers send ``Origin`` on
   every cross-origin request that can change state; the bundled UI is same-origin.
3. **Content-Type** (415): a request body must be ``application/json``, or ``multipart/form-data`` on
   the two routes that read uploads. FastAPI alone would pass a ``text/plain`` body to the routes that
   parse JSON by hand, and this check also covers requests without any ``Content-Type``.

In-process clients (the CLI's and the tests' Starlette ``TestClient``, whose client address is the
name ``testclient``) are exempt from the Host check only. A real TCP client always has an IP address
here: uvicorn runs with proxy headers off (``signifier serve``), and ``forwarded.py`` refuses a
forwarded client that is not an IP, so no network request can claim the exemption.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.errors_asgi import send_error
from services.api.forwarded import ForwardedClient
from services.core.settings import Settings

LOOPBACK_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1", "[::1]"})
STATE_CHANGING: frozenset[str] = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The routes that read multipart uploads themselves (routes/ingest.py, routes/search.py).
MULTIPART_ROUTE = re.compile(r"/v1/collections/[^/]+/(?:ingest|search)")
_HOST = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]/@\s]+)(?::(?P<port>[0-9]{1,5}))?")
_DEFAULT_PORT = {"http": 80, "https": 443}

Refusal = tuple[int, str, str]  # status, code, message


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host header (IPv6 keeps its brackets, names are lowercased), None if malformed."""
    m = _HOST.fullmatch(value.strip())
    if m is None:
        return None
    port = m["port"]
    return m["host"].lower(), int(port) if port else None


def is_in_process(scope: Scope) -> bool:
    """True for an ASGI client named by something other than an IP address (Starlette's TestClient)."""
    client = scope.get("client")
    if not client or not isinstance(client[0], str):
        return False
    try:
        ipaddress.ip_address(client[0].strip("[]"))
    except ValueError:
        return True
    return False


def host_allowed(host: str, patterns: frozenset[str]) -> bool:
    if "*" in patterns or host in patterns:
        return True
    return any(p.startswith("*.") and host.endswith(p[1:]) for p in patterns)


def same_origin(origin: str, host_header: str) -> bool:
    """Whether ``origin`` names the host and port the request was sent to (the Host header).

    The scheme is not compared: behind a TLS-terminating proxy the request arrives as http while the
    page's origin is https, and a page on the same host and port is the server's own page either way.
    """
    parts = urlsplit(origin.strip().lower())
    target = parse_host(host_header)
    if parts.scheme not in _DEFAULT_PORT or not parts.hostname or target is None:
        return False  # includes "Origin: null" (sandboxed frames, file: pages)
    try:
        port = parts.port or _DEFAULT_PORT[parts.scheme]
    except ValueError:
        return False
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    host, host_port = target
    return name == host and (port == host_port or (host_port is None and port in _DEFAULT_PORT.values()))


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


class RequestGuards:
    """ASGI middleware: the Host, Origin and Content-Type checks above; refusals are the API's JSON errors."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.local = settings.auth == "local"
        self.hosts = LOOPBACK_HOSTS if self.local else frozenset(settings.allowed_hosts)
        self.origins = frozenset(settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal: Refusal | None
        if scope["type"] == "http":
            refusal = self.refusal(scope)
        elif scope["type"] == "websocket":
            refusal = self._host_refusal(Headers(scope=scope), scope)
        else:
            refusal = None
        if refusal is not None:
            await send_error(scope, send, *refusal)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Refusal | None:
        """Why this request is refused before routing, or None."""
        headers = Headers(scope=scope)
        refusal = self._host_refusal(headers, scope)
        if refusal is not None or scope["method"] not in STATE_CHANGING:
            return refusal
        origin = headers.get("origin")
        if origin is not None:
            origin_key = origin.strip().lower().rstrip("/")
            if origin_key not in self.origins and not same_origin(origin, headers.get("host", "")):
                return (
                    403,
                    "cross_origin",
                    f"{scope['method']} requests from pages of another origin are refused; call the API from its "
                    "own pages, or list that origin in SIGNIFIER_ALLOWED_ORIGINS",
                )
        if _has_body(headers):
            media = headers.get("content-type", "").partition(";")[0].strip().lower()
            multipart_ok = MULTIPART_ROUTE.fullmatch(scope["path"]) is not None
            if media != "application/json" and not (multipart_ok and media == "multipart/form-data"):
                given = f"'{media[:60]}'" if media else "no Content-Type"
                accepted = "application/json or multipart/form-data" if multipart_ok else "application/json"
                return 415, "unsupported_media_type", f"send the body as {accepted} (got {given})"
        return None

    def _host_refusal(self, headers: Headers, scope: Scope) -> Refusal | None:
        if "*" in self.hosts or is_in_process(scope):
            return None
        parsed = parse_host(headers.get("host", ""))
        if parsed is not None and host_allowed(parsed[0], self.hosts):
            return None
        if self.local:
            message = (
                "this server (SIGNIFIER_AUTH=local) answers only requests addressed to localhost, 127.0.0.1 or "
                "[::1]; open it at http://127.0.0.1:PORT"
            )
        else:
            message = "this Host is not served; add it to SIGNIFIER_ALLOWED_HOSTS"
        return 400, "invalid_host", message


def install_guards(app: Starlette, settings: Settings) -> None:
    """Install the guards, and (outside them, so they see the real client) the trusted-proxy rewrite."""
    app.add_middleware(RequestGuards, settings=settings)
    if settings.forwarded_allow_ips:  # Starlette runs the middleware added last first
        app.add_middleware(ForwardedClient, trusted=settings.forwarded_allow_ips)
