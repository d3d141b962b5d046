"""Fetching image URLs without becoming an SSRF proxy: resolve, refuse internal addresses, pin, cap.

For every hop (the first request and each redirect) the host is resolved once, every address it
resolves to is checked, and the connection goes to that checked address (``Host`` header and TLS SNI
keep the name, so certificates are still verified against it) — a DNS answer that changes between
check and connect cannot redirect us inside. Loopback, private, link-local, multicast, reserved and
unspecified addresses are refused unless a network in ``FetchSettings.allow_networks`` covers them.
Downloads have connect/read timeouts, an overall deadline, a byte cap and a content-type check.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from services.core.errors import FetchError
from services.core.settings import FetchSettings

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_OK_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IP literals, in any form the OS accepts, resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc.strerror}", transient=False) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_internal(ip: IPAddress) -> bool:
    """True for addresses a public image URL must never reach: loopback, private, link-local, ..."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A checked hop: the URL as given and the address the connection must go to."""

    url: httpx.URL
    address: str


class SafeFetcher:
    """``fetcher(url) -> bytes``; raises ``FetchError`` (``transient`` says whether a retry may help).

    Thread-safe: the decode pool calls it from several threads.
    """

    def __init__(self, settings: FetchSettings, resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        self.resolver = resolver
        self.allow = [ipaddress.ip_network(n, strict=False) for n in settings.allow_networks]
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,  # every redirect is checked like the first URL
            trust_env=False,  # no proxy from the environment: the checked address must be the one reached
            headers={"User-Agent": "signifier-ingest/0.1", "Accept": "image/*"},
        )

    def close(self) -> None:
        self.client.close()

    def __call__(self, url: str) -> bytes:
        attempts = max(1, self.settings.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._fetch(url)
            except FetchError as exc:
                if not exc.transient or attempt == attempts:
                    if exc.transient and attempts > 1:
                        raise FetchError(f"{exc.message} (after {attempts} tries)", transient=True) from None
                    raise
                time.sleep(min(2.0, 0.25 * 2**attempt))
        raise AssertionError("unreachable")

    def check(self, url: str) -> Target:
        """Validate one URL and pick the address to connect to; raises ``FetchError`` if it is refused."""
        try:
            u = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise FetchError(f"invalid URL: {exc}") from None
        if u.scheme not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme {u.scheme!r}: only http and https are fetched")
        if not u.host:
            raise FetchError("URL has no host")
        if u.userinfo:
            raise FetchError("URLs with credentials are not fetched")
        port = u.port or (443 if u.scheme == "https" else 80)
        addresses = self.resolver(u.host, port)
        if not addresses:
            raise FetchError(f"host {u.host!r} resolves to no address")
        for raw in addresses:
            ip = ipaddress.ip_address(raw.split("%", 1)[0])
            if is_internal(ip) and not any(ip in net for net in self.allow):
                # The reason is shown to the job's owner: it must not map the inside of the network for
                # them, so the address goes only to the server log.
                log.debug("fetch refused: %s resolves to internal address %s", u.host, ip)
                raise FetchError(
                    "refused: the host resolves to a private or internal address "
                    "(an operator may allow such networks with SIGNIFIER_FETCH__ALLOW_NETWORKS)"
                )
        return Target(u, addresses[0])

    def _fetch(self, url: str) -> bytes:
        s = self.settings
        deadline = time.monotonic() + s.total_timeout_s
        for _ in range(s.max_redirects + 1):
            target = self.check(url)
            try:
                with self.client.stream(
                    "GET",
                    target.url.copy_with(host=target.address),
                    headers={"Host": target.url.netloc.decode("ascii")},
                    extensions={"sni_hostname": target.url.host},
                ) as resp:
                    if resp.status_code in _REDIRECTS:
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchError(f"HTTP {resp.status_code} redirect without a Location header")
                        url = urljoin(str(target.url), location)
                        continue
                    self._check_response(resp)
                    return self._read(resp, deadline)
            except httpx.TimeoutException:
                raise FetchError("timed out", transient=True) from None
            except httpx.TransportError as exc:
                raise FetchError(f"network error: {type(exc).__name__}: {exc}", transient=True) from None
        raise FetchError(f"too many redirects (more than {s.max_redirects})")

    def _check_response(self, resp: httpx.Response) -> None:
        if resp.status_code in _TRANSIENT_STATUS:
            raise FetchError(f"HTTP {resp.status_code}", transient=True)
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code}")
        ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not (ctype.startswith("image/") or ctype in _OK_TYPES):
            raise FetchError(f"not an image: the server sent content-type {ctype!r}")
        length = resp.headers.get("content-length")
        if length and length.isascii() and length.isdigit() and int(length) > self.settings.max_bytes:
            raise FetchError(f"image is {int(length):,} bytes, over the limit of {self.settings.max_bytes:,}")

    def _read(self, resp: httpx.Response, deadline: float) -> bytes:
        buf = bytearray()
        for chunk in resp.iter_bytes():
            buf += chunk
            if len(buf) > self.settings.max_bytes:
                raise FetchError(f"image is over the limit of {self.settings.max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"download took longer than {self.settings.total_timeout_s:g} s", transient=True)
        return bytes(buf)
