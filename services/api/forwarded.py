"""The client behind a trusted reverse proxy (``SIGNIFIER_FORWARDED_ALLOW_IPS``), and only there.

uvicorn's own proxy-header support is on by default and trusts 127.0.0.1, and it takes any
``X-Forwarded-For`` text as the client: ``garbage`` from a loopback peer became a client named
"garbage", which the app treats as an in-process client (the local owner). ``signifier serve`` turns
uvicorn's support off; this middleware replaces it: headers are believed only from the listed
networks, and a forwarded client that is not an IP address is refused (400), never passed on.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.errors_asgi import send_error

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("["):  # "[v6]:port" or "[v6]"
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:  # "v4:port"
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class ForwardedClient:
    """ASGI middleware: from a trusted proxy, the client is the last untrusted ``X-Forwarded-For`` entry."""

    def __init__(self, app: ASGIApp, trusted: list[str]) -> None:
        self.app = app
        self.trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    def _trusts(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return ip is not None and any(ip in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] not in ("http", "websocket") or not client or not self._trusts(_ip(str(client[0]))):
            await self.app(scope, receive, send)
            return
        forwarded: list[str] = []
        proto = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded.extend(v.strip() for v in value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").strip().lower()
        scope = dict(scope)
        if forwarded:
            chosen = forwarded[0]
            for entry in reversed(forwarded):  # each proxy appends: walk back past the trusted ones
                if not self._trusts(_ip(entry)):
                    chosen = entry
                    break
            ip = _ip(chosen)
            if ip is None:
                await send_error(scope, send, 400, "invalid_forwarded", "X-Forwarded-For must name the client by IP")
                return
            scope["client"] = (str(ip), 0)
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        await self.app(scope, receive, send)
