"""The administration rules: owners run their team, admins every team, nobody mints a stronger key."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.admin import Accounts
from services.accounts.principal import Principal, operator
from services.core.errors import AlreadyExists, Forbidden, InvalidInput, NotFoundError

OP = operator("test")


def _owner_of(accounts: Accounts, team: str, role: str = "owner") -> Principal:
    return accounts.keys.resolve(accounts.create_key(OP, role, team=team).key)


@pytest.fixture
def two_teams(sessions: sessionmaker[Session]) -> tuple[Accounts, Principal, Principal]:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    accounts.create_team(OP, "globex")
    return accounts, _owner_of(accounts, "acme"), _owner_of(accounts, "globex")


def test_team_names_are_unique_and_validated(sessions: sessionmaker[Session]) -> None:
    accounts = Accounts(sessions)
    accounts.create_team(OP, "acme")
    with pytest.raises(AlreadyExists):
        accounts.create_team(OP, "acme")
    for bad in ("", "Acme", "a b", "-x", "x" * 65, "../etc"):
        with pytest.raises(InvalidInput):
            accounts.create_team(OP, bad)
    with pytest.raises(InvalidInput):
        accounts.create_team(OP, "neg", max_points=-1)
    assert [t.name for t in accounts.list_teams(OP)] == ["acme", "local"]


def test_only_admins_create_teams_or_change_quotas(two_teams: tuple[Accounts, Principal, Principal]) -> None:
    accounts, acme, _ = two_teams
    with pytest.raises(Forbidden):
        accounts.create_team(acme, "mine")
    with pytest.raises(Forbidden):
        accounts.set_quotas(acme, "acme", None, 10**9)
    admin = accounts.keys.resolve(accounts.create_key(OP, "owner", team="acme", admin=True).key)
    assert admin.admin
    accounts.create_team(admin, "initech")
    assert accounts.set_quotas(admin, "initech", 3, None).max_collections == 3


def test_owners_see_only_their_team(two_teams: tuple[Accounts, Principal, Principal]) -> None:
    accounts, acme, globex = two_teams
    g_user = accounts.create_user(globex, "gina", "viewer")
    g_key = accounts.create_key(globex, "viewer", name="g")
    assert [t.name for t in accounts.list_teams(acme)] == ["acme"]
    assert accounts.get_team(acme, "acme").name == "acme"
    for call in (
        lambda: accounts.get_team(acme, "globex"),
        lambda: accounts.user(acme, g_user.id),
        lambda: accounts.disable_user(acme, g_user.id),
        lambda: accounts.key(acme, g_key.info.id),
        lambda: accounts.revoke_key(acme, g_key.info.id),
        lambda: accounts.list_keys(acme, team="globex"),
        lambda: accounts.list_users(acme, team="globex"),
        lambda: accounts.audit_events(acme, team="globex"),
        lambda: accounts.create_key(acme, "viewer", team="globex"),
        lambda: accounts.create_user(acme, "eve", "viewer", team="globex"),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert g_key.info.id not in {k.id for k in accounts.list_keys(acme)}
    assert "gina" not in {u.name for u in accounts.list_users(acme)}
    assert all(e.team_id == acme.team for e in accounts.audit_events(acme))
    assert accounts.keys.resolve(g_key.key).role == "viewer"  # untouched


def test_nobody_issues_a_stronger_key(two_teams: tuple[Accounts, Principal, Principal]) -> None:
    accounts, acme, _ = two_teams
    editor = _owner_of(accounts, "acme", role="editor")
    with pytest.raises(Forbidden):
        accounts.create_key(editor, "viewer")  # key management is for owners
    with pytest.raises(Forbidden):
        accounts.create_key(acme, "owner", admin=True)  # admin keys only from admins
    accounts.create_user(acme, "val", "viewer")
    with pytest.raises(InvalidInput, match="viewer"):
        accounts.create_key(acme, "owner", user="val")  # a key never outranks its user
    with pytest.raises(InvalidInput):
        accounts.create_key(acme, "root")
    with pytest.raises(InvalidInput, match="past"):
        accounts.create_key(acme, "viewer", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))


def test_every_admin_action_is_audited(two_teams: tuple[Accounts, Principal, Principal]) -> None:
    accounts, acme, _ = two_teams
    user = accounts.create_user(acme, "alice", "editor")
    issued = accounts.create_key(acme, "editor", user="alice", name="laptop")
    accounts.revoke_key(acme, issued.info.id)
    accounts.disable_user(acme, user.id)
    events = accounts.audit_events(acme)
    assert [e.action for e in events] == [
        "user.disable",
        "key.revoke",
        "key.create",
        "user.create",
        "key.create",  # the fixture's owner key
        "team.create",
    ]
    revoke = events[1]
    assert revoke.target == issued.info.id and revoke.actor_key_id == acme.key_id and acme.key_id in revoke.actor
    assert events[2].detail["user"] == "alice" and events[2].detail["role"] == "editor"
    assert all(e.team_id == acme.team for e in events)
    assert [e.action for e in accounts.audit_events(acme, action="key.")] == ["key.revoke", "key.create", "key.create"]
    older = accounts.audit_events(acme, before=events[1].id)
    assert [e.id for e in older] == [e.id for e in events[2:]]
    # the operator sees every team's events, the team creations among them
    assert {"team.create"} <= {e.action for e in accounts.audit_events(OP)}


def test_a_failed_action_leaves_no_audit_event(two_teams: tuple[Accounts, Principal, Principal]) -> None:
    accounts, acme, _ = two_teams
    accounts.create_user(acme, "alice", "editor")
    before = len(accounts.audit_events(acme))
    with pytest.raises(AlreadyExists):
        accounts.create_user(acme, "alice", "viewer")
    assert len(accounts.audit_events(acme)) == before
