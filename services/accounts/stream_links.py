"""Signed stream links: what a browser's ``<video>`` plays from, since it cannot send an API key.

An authenticated caller asks for a link to one video of one of its team's collections; the link carries
``?link=<expires>.<team>.<key>.<signature>``: the Unix time it dies, the team and the API key it was made
for (``-`` for the keyless local owner) in clear, and an HMAC-SHA256, under the server's
``SIGNIFIER_STREAM_SECRET``, of those with the collection's id (not its name: a collection deleted and made
again under that name is another one) and the video id. The stream route takes it in place of the key
for that one video of that one collection until it expires; every other route ignores it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.core.errors import Unauthorized

_TEAM = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY = re.compile(r"[0-9a-f]{16}|-")
_SIG = re.compile(r"[A-Za-z0-9_-]{43}")
DOMAIN = b"signifier/stream-link/v1"  # a link's signature can never pass for another HMAC of this key


@dataclass(frozen=True)
class LinkClaims:
    """What a link says in clear: until when (Unix seconds), for which team, through which key."""

    expires: int
    team: str
    key_id: str | None
    signature: str


class StreamSigner:
    """Makes and checks links; ``clock`` (Unix seconds) is handed in so tests can move time."""

    def __init__(self, secret: bytes, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 32:
            raise ValueError("a stream-link secret needs at least 32 bytes")
        self._secret = secret
        self.ttl_s = ttl_s
        self.clock = clock

    def sign(self, team: str, key_id: str | None, collection_id: str, video_id: str) -> tuple[str, int]:
        """(link token, the Unix time it expires) for one video of one collection."""
        if not _TEAM.fullmatch(team):
            raise ValueError(f"team id {team!r} cannot be put in a link")
        expires = int(self.clock()) + self.ttl_s
        key = key_id or "-"
        sig = self._mac(expires, team, key, collection_id, video_id)
        return f"{expires}.{team}.{key}.{sig}", expires

    def claims(self, token: str) -> LinkClaims:
        """The link's clear part; ``Unauthorized`` if it is malformed or has expired (not yet its signature:
        that needs the collection's id, looked up in the claimed team)."""
        parts = token.split(".")
        if len(parts) != 4 or not parts[0].isdigit() or len(parts[0]) > 12:
            raise Unauthorized("malformed stream link; ask for a new one (GET …/videos/{video_id}/stream-url)")
        expires, team, key, sig = int(parts[0]), parts[1], parts[2], parts[3]
        if not (_TEAM.fullmatch(team) and _KEY.fullmatch(key) and _SIG.fullmatch(sig)):
            raise Unauthorized("malformed stream link; ask for a new one (GET …/videos/{video_id}/stream-url)")
        if expires <= self.clock():
            raise Unauthorized("this stream link has expired; ask for a new one (GET …/videos/{video_id}/stream-url)")
        return LinkClaims(expires, team, None if key == "-" else key, sig)

    def check(self, claims: LinkClaims, collection_id: str, video_id: str) -> None:
        """``Unauthorized`` unless the link was made here for this video of this collection."""
        key = claims.key_id or "-"
        want = self._mac(claims.expires, claims.team, key, collection_id, video_id)
        if not hmac.compare_digest(want, claims.signature):
            raise Unauthorized("this stream link is not valid for this video")

    def _mac(self, expires: int, team: str, key: str, collection_id: str, video_id: str) -> str:
        msg = b"\x00".join(p.encode() for p in (str(expires), team, key, collection_id, video_id))
        digest = hmac.new(self._secret, DOMAIN + b"\x00" + msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
