"""API keys: shape, hashing, resolution, revocation, expiry, role caps, last-used throttling."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.admin import Accounts
from services.accounts.keys import KeyStore, hash_key, new_key, parse_key
from services.accounts.principal import operator
from services.accounts.team_models import ApiKeyRow
from services.core.errors import Unauthorized

OP = operator("test")


def test_key_shape_and_parse() -> None:
    key_id, key = new_key()
    assert key.startswith(f"sig_{key_id}_") and len(key) == 4 + 16 + 1 + 43
    assert parse_key(key) == key_id
    other_id, other = new_key()
    assert other_id != key_id and other != key
    for bad in ("", "sig_", key[:-1], key + "x", key.replace("sig_", "sk_"), f"sig_{key_id.upper()}_{key[-43:]}"):
        assert parse_key(bad) is None, bad


def test_only_the_hash_is_stored(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    issued = accounts.create_key(OP, "owner", team="acme")
    with sessions() as s:
        row = s.scalars(select(ApiKeyRow)).one()
    assert row.secret_hash == hashlib.sha256(issued.key.encode()).hexdigest() == hash_key(issued.key)
    secret = issued.key.split("_", 2)[2]  # the id is hex; the secret itself may contain "_"
    assert len(secret) >= 40
    assert secret not in repr(row.__dict__)


def test_resolve_gives_the_team_and_role(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    team = accounts.create_team(OP, "acme")
    issued = accounts.create_key(OP, "editor", team="acme", name="ci")
    p = accounts.keys.resolve(issued.key)
    assert (p.team, p.team_name, p.role, p.key_id, p.admin) == (team.id, "acme", "editor", issued.info.id, False)
    assert p.user == "key:ci"


def test_wrong_secret_and_unknown_id_read_the_same(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    issued = accounts.create_key(OP, "owner", team="acme")
    forged = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    _, unknown = new_key()
    messages = set()
    for key in (forged, unknown):
        with pytest.raises(Unauthorized) as exc:
            accounts.keys.resolve(key)
        messages.add(exc.value.message)
    assert messages == {"invalid API key"}
    with pytest.raises(Unauthorized, match="malformed"):
        accounts.keys.resolve("hunter2")


def test_revoked_key_stops_working_at_once(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    issued = accounts.create_key(OP, "owner", team="acme")
    accounts.keys.resolve(issued.key)
    info = accounts.revoke_key(OP, issued.info.id)
    assert info.state() == "revoked" and info.revoked_at is not None
    with pytest.raises(Unauthorized, match="revoked"):
        accounts.keys.resolve(issued.key)


def test_expired_key_is_refused(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    issued = accounts.create_key(OP, "viewer", team="acme", expires_at=soon)
    accounts.keys.resolve(issued.key)  # valid until then
    assert accounts.keys.get(issued.info.id).expires_at == soon
    with sessions.begin() as s:  # an hour passes
        s.get(ApiKeyRow, issued.info.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # type: ignore[union-attr]
    with pytest.raises(Unauthorized, match="expired"):
        accounts.keys.resolve(issued.key)
    assert accounts.keys.get(issued.info.id).state() == "expired"


def test_key_of_a_user_is_capped_by_the_user_and_dies_with_them(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    alice = accounts.create_user(OP, "alice", "editor", team="acme")
    issued = accounts.create_key(OP, "editor", team="acme", user="alice")
    p = accounts.keys.resolve(issued.key)
    assert (p.user, p.role) == ("alice", "editor")
    accounts.disable_user(OP, alice.id)
    with pytest.raises(Unauthorized):
        accounts.keys.resolve(issued.key)
    assert accounts.keys.get(issued.info.id).state() == "revoked"  # disabling revokes the user's keys


def test_last_used_is_written_at_most_once_a_minute(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    issued = accounts.create_key(OP, "viewer", team="acme")
    assert accounts.keys.get(issued.info.id).last_used_at is None
    store = KeyStore(sessions, touch_every_s=60)
    store.resolve(issued.key)
    first = store.get(issued.info.id).last_used_at
    assert first is not None and abs((dt.datetime.now(dt.UTC) - first).total_seconds()) < 60
    for _ in range(5):
        store.resolve(issued.key)
    assert store.get(issued.info.id).last_used_at == first  # throttled: no write per request
    eager = KeyStore(sessions, touch_every_s=0)
    eager.resolve(issued.key)
    assert eager.get(issued.info.id).last_used_at > first  # type: ignore[operator]
