"""``/v1/admin``: teams, users, API keys and the audit log.

Owners manage their own team; deployment admins (the embedded local owner, keys issued with
``signifier admin create-key --admin``) manage every team and create teams. Another team's users,
keys or audit events are answered with 404, as if they did not exist.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from services.accounts.audit import AuditEvent
from services.accounts.keys import KeyInfo
from services.accounts.principal import Principal, Role
from services.accounts.quotas import Quotas
from services.accounts.teams import TeamInfo, UserInfo
from services.api.deps import AccountsDep, CollectionsDep, PrincipalDep, QuotasDep
from services.catalog.collections import CollectionRegistry
from services.core.errors import InvalidInput
from services.core.timeutil import utcnow

router = APIRouter(prefix="/v1/admin", tags=["admin"])

MAX_KEY_DAYS = 36_500


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, examples=["acme"])
    max_collections: int | None = Field(None, ge=0, description="Quota; unset: the deployment's default.")
    max_points: int | None = Field(None, ge=0, description="Quota; unset: the deployment's default.")


class QuotaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_collections: int | None = Field(None, ge=0)
    max_points: int | None = Field(None, ge=0)


class TeamOut(BaseModel):
    id: str
    name: str
    created_at: dt.datetime
    max_collections: int | None = Field(description="The quota in force (the team's own, else the default).")
    max_points: int | None
    collections: int
    points: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, examples=["alice"])
    role: Role
    team: str | None = Field(None, description="Team name; default: your own (other teams: admins only).")


class UserOut(BaseModel):
    id: str
    team_id: str
    name: str
    role: Role
    created_at: dt.datetime
    disabled_at: dt.datetime | None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    team: str | None = Field(None, description="Team name; default: your own (other teams: admins only).")
    user: str | None = Field(None, description="A user of the team; the key can never do more than they can.")
    name: str = Field("", max_length=128, description="A label, e.g. what the key is for.")
    expires_at: dt.datetime | None = Field(None, description="When the key stops working (ISO 8601).")
    # Bounded: a huge value overflowed datetime (a 500 schemathesis found); a century is "never" enough.
    expires_in_days: float | None = Field(
        None, gt=0, le=MAX_KEY_DAYS, allow_inf_nan=False, description="Or: days from now (at most 36,500)."
    )
    admin: bool = Field(False, description="Administer every team (admins only).")


class KeyOut(BaseModel):
    id: str
    team_id: str
    user_id: str | None
    name: str
    role: Role
    admin: bool
    state: str = Field(description="active, revoked or expired")
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(description="Updated at most once a minute.")


class KeyCreated(KeyOut):
    key: str = Field(description="The API key. It is shown only this once: store it now.")


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    team_id: str | None
    actor: str
    actor_key_id: str | None
    action: str
    target: str
    detail: dict[str, object]


class AuditList(BaseModel):
    events: list[AuditOut]


def _team(quotas: Quotas, collections: CollectionRegistry, t: TeamInfo) -> TeamOut:
    q = quotas.for_team(t.id)
    viewer = Principal(team=t.id, role="viewer", team_name=t.name)
    return TeamOut(
        id=t.id,
        name=t.name,
        created_at=t.created_at,
        max_collections=q.max_collections,
        max_points=q.max_points,
        collections=len(collections.list_for(viewer)),
        points=collections.points_used(t.id),
    )


def _user(u: UserInfo) -> UserOut:
    return UserOut.model_validate(u, from_attributes=True)


def _key(k: KeyInfo) -> KeyOut:
    return KeyOut(
        id=k.id,
        team_id=k.team_id,
        user_id=k.user_id,
        name=k.name,
        role=k.role,
        admin=k.admin,
        state=k.state(),
        created_at=k.created_at,
        created_by=k.created_by,
        expires_at=k.expires_at,
        revoked_at=k.revoked_at,
        last_used_at=k.last_used_at,
    )


def _event(e: AuditEvent) -> AuditOut:
    return AuditOut.model_validate(e, from_attributes=True)


# --- teams ---------------------------------------------------------------------------------------


@router.post("/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
def create_team(
    body: TeamCreate, accounts: AccountsDep, quotas: QuotasDep, collections: CollectionsDep, principal: PrincipalDep
) -> TeamOut:
    """Create a team (deployment admins only). Then issue its first owner key with ``POST /v1/admin/keys``."""
    t = accounts.create_team(principal, body.name, body.max_collections, body.max_points)
    return _team(quotas, collections, t)


@router.get("/teams", response_model=list[TeamOut])
def list_teams(
    accounts: AccountsDep, quotas: QuotasDep, collections: CollectionsDep, principal: PrincipalDep
) -> list[TeamOut]:
    """Your team, or every team for a deployment admin, with usage and quotas."""
    return [_team(quotas, collections, t) for t in accounts.list_teams(principal)]


@router.get("/teams/{team}", response_model=TeamOut)
def get_team(
    team: str, accounts: AccountsDep, quotas: QuotasDep, collections: CollectionsDep, principal: PrincipalDep
) -> TeamOut:
    return _team(quotas, collections, accounts.get_team(principal, team))


@router.put("/teams/{team}/quotas", response_model=TeamOut)
def set_quotas(
    team: str,
    body: QuotaUpdate,
    accounts: AccountsDep,
    quotas: QuotasDep,
    collections: CollectionsDep,
    principal: PrincipalDep,
) -> TeamOut:
    """Set a team's own quotas (deployment admins only); null falls back to the deployment's default."""
    return _team(quotas, collections, accounts.set_quotas(principal, team, body.max_collections, body.max_points))


# --- users ---------------------------------------------------------------------------------------


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def create_user(body: UserCreate, accounts: AccountsDep, principal: PrincipalDep) -> UserOut:
    return _user(accounts.create_user(principal, body.name, body.role, body.team))


@router.get("/users", response_model=list[UserOut])
def list_users(
    accounts: AccountsDep,
    principal: PrincipalDep,
    team: str | None = Query(None, description="Team name; default: yours (admins: every team)."),
) -> list[UserOut]:
    return [_user(u) for u in accounts.list_users(principal, team)]


@router.delete("/users/{user_id}", response_model=UserOut)
def disable_user(user_id: str, accounts: AccountsDep, principal: PrincipalDep) -> UserOut:
    """Disable a user and revoke all their keys (the user stays, for the audit log)."""
    return _user(accounts.disable_user(principal, user_id))


# --- keys ----------------------------------------------------------------------------------------


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def create_key(body: KeyCreate, accounts: AccountsDep, principal: PrincipalDep) -> KeyCreated:
    """Issue an API key. The response holds the key itself, once; only its hash is kept."""
    if body.expires_at is not None and body.expires_in_days is not None:
        raise InvalidInput("give expires_at or expires_in_days, not both")
    expires = body.expires_at
    if body.expires_in_days is not None:
        expires = utcnow() + dt.timedelta(days=body.expires_in_days)
    issued = accounts.create_key(
        principal, body.role, team=body.team, user=body.user, name=body.name, expires_at=expires, admin=body.admin
    )
    return KeyCreated(**_key(issued.info).model_dump(), key=issued.key)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(
    accounts: AccountsDep,
    principal: PrincipalDep,
    team: str | None = Query(None, description="Team name; default: yours (admins: every team)."),
) -> list[KeyOut]:
    """Keys with their state and last use; never the keys themselves."""
    return [_key(k) for k in accounts.list_keys(principal, team)]


@router.get("/keys/{key_id}", response_model=KeyOut)
def get_key(key_id: str, accounts: AccountsDep, principal: PrincipalDep) -> KeyOut:
    return _key(accounts.key(principal, key_id))


@router.delete("/keys/{key_id}", response_model=KeyOut)
def revoke_key(key_id: str, accounts: AccountsDep, principal: PrincipalDep) -> KeyOut:
    """Revoke a key: its next request gets 401."""
    return _key(accounts.revoke_key(principal, key_id))


# --- audit ---------------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditList)
def audit_log(
    accounts: AccountsDep,
    principal: PrincipalDep,
    team: str | None = Query(None, description="Team name; default: yours (admins: every team)."),
    action: str | None = Query(None, description="Only actions starting with this, e.g. 'key.'."),
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, description="Only events older than this event id (paging)."),
) -> AuditList:
    """Admin actions and deletions, newest first: who, what, when."""
    events = accounts.audit_events(principal, team=team, limit=limit, action=action, before=before)
    return AuditList(events=[_event(e) for e in events])
