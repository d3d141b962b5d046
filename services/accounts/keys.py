"""API keys: issue (shown once), store hashed, resolve ``Authorization: Bearer`` to a principal, revoke.

A key reads ``sig_<id>_<secret>``: ``id`` (16 hex digits) is public and finds the row; ``secret`` is 32
random bytes (``secrets.token_urlsafe``). Only ``sha256(key)`` is stored. A plain hash is enough here,
unlike for passwords: with 256 bits of entropy a stolen hash cannot be reversed by guessing, so a slow
hash (bcrypt, argon2) would only add tens of milliseconds to every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.principal import Principal, Role, weaker
from services.accounts.team_models import ApiKeyRow, TeamRow, UserRow
from services.accounts.teams import check_role
from services.core.errors import NotFoundError, Unauthorized
from services.core.timeutil import aware, utcnow

KEY_PREFIX = "sig"
_KEY_RE = re.compile(r"sig_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
TOUCH_EVERY_S = 60.0  # last_used_at is written at most this often per key and process


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key after it was issued: never the secret, never the hash."""

    id: str
    team_id: str
    user_id: str | None
    name: str
    role: Role
    admin: bool
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    def state(self, now: dt.datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


def new_key() -> tuple[str, str]:
    """A fresh ``(key_id, key)``; the key is the only copy of the secret."""
    key_id = secrets.token_hex(8)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def parse_key(key: str) -> str | None:
    """The key's id, or ``None`` if ``key`` is not shaped like a key this server issues."""
    m = _KEY_RE.fullmatch(key)
    return m.group(1) if m else None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        team_id=row.team_id,
        user_id=row.user_id,
        name=row.name,
        role=cast(Role, row.role),
        admin=row.is_admin,
        created_at=aware(row.created_at),
        created_by=row.created_by,
        expires_at=aware(row.expires_at),
        revoked_at=aware(row.revoked_at),
        last_used_at=aware(row.last_used_at),
    )


class KeyStore:
    def __init__(self, sessions: sessionmaker[Session], touch_every_s: float = TOUCH_EVERY_S) -> None:
        self.sessions = sessions
        self.touch_every_s = touch_every_s
        self._touched: dict[str, float] = {}  # key id → monotonic time of its last last_used_at write
        self._lock = threading.Lock()

    def create(
        self,
        s: Session,
        team_id: str,
        role: str,
        *,
        user_id: str | None = None,
        name: str = "",
        expires_at: dt.datetime | None = None,
        admin: bool = False,
        created_by: str = "",
    ) -> tuple[KeyInfo, str]:
        """Issue a key in the caller's transaction; returns its info and the key itself (show it once)."""
        key_id, key = new_key()
        row = ApiKeyRow(
            id=key_id,
            team_id=team_id,
            user_id=user_id,
            name=name,
            role=check_role(role),
            is_admin=admin,
            secret_hash=hash_key(key),
            created_at=utcnow(),
            created_by=created_by,
            expires_at=aware(expires_at),
        )
        s.add(row)
        s.flush()
        return key_info(row), key

    def get(self, key_id: str) -> KeyInfo:
        with self.sessions() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFoundError(f"API key {key_id!r} does not exist")
            return key_info(row)

    def list(self, team_id: str | None) -> list[KeyInfo]:
        with self.sessions() as s:
            q = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
            if team_id is not None:
                q = q.where(ApiKeyRow.team_id == team_id)
            return [key_info(r) for r in s.scalars(q)]

    def revoke(self, s: Session, key_id: str) -> None:
        s.execute(
            update(ApiKeyRow).where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None)).values(revoked_at=utcnow())
        )

    def resolve(self, key: str) -> Principal:
        """The principal a presented key stands for; ``Unauthorized`` with the reason otherwise.

        Unknown id and wrong secret give the same answer, so the answer does not confirm that an id exists.
        """
        key_id = parse_key(key)
        if key_id is None:
            raise Unauthorized(
                "malformed API key: expected 'sig_<id>_<secret>' as printed by 'signifier admin create-key'"
            )
        with self.sessions() as s:
            found = s.execute(
                select(ApiKeyRow, TeamRow.name, UserRow)
                .join(TeamRow, TeamRow.id == ApiKeyRow.team_id)
                .outerjoin(UserRow, UserRow.id == ApiKeyRow.user_id)
                .where(ApiKeyRow.id == key_id)
            ).first()
        if found is None or not hmac.compare_digest(found[0].secret_hash, hash_key(key)):
            raise Unauthorized("invalid API key")
        row, team_name, user = found
        now = utcnow()
        if row.revoked_at is not None:
            raise Unauthorized(f"API key {key_id} was revoked")
        expires = aware(row.expires_at)
        if expires is not None and expires <= now:
            raise Unauthorized(f"API key {key_id} expired at {expires.isoformat(timespec='seconds')}")
        role = cast(Role, row.role)
        if user is not None:
            if user.disabled_at is not None:
                raise Unauthorized(f"the user of API key {key_id} is disabled")
            role = weaker(role, cast(Role, user.role))
        self._touch(key_id, now)
        return Principal(
            team=row.team_id,
            role=role,
            user=user.name if user is not None else f"key:{row.name or key_id}",
            key_id=key_id,
            admin=row.is_admin,
            team_name=team_name,
        )

    def _touch(self, key_id: str, now: dt.datetime) -> None:
        """Record use, at most once per ``touch_every_s`` per key: a write per request would cost more
        than the request itself on SQLite, and minute resolution is what "last used" needs."""
        mono = time.monotonic()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and mono - last < self.touch_every_s:
                return
            self._touched[key_id] = mono
        with self.sessions.begin() as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))
