"""Account administration with its rules: who may create teams, users and keys, and every step audited.

The REST routes (``/v1/admin/...``) and the CLI (``signifier admin ...``) both call this. The rules:

- a team's owners manage that team's users and keys and read its audit log;
- deployment admins (the CLI operator, the embedded local owner, keys issued with ``--admin``) also
  create teams and act on any team;
- nobody issues a key stronger than themselves: a role above their own, or an admin key unless admin;
- anything of another team is reported as not found, exactly as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services.accounts import audit
from services.accounts.audit import AuditEvent, AuditLog
from services.accounts.keys import KeyInfo, KeyStore
from services.accounts.principal import Principal, role_rank
from services.accounts.teams import TeamInfo, TeamStore, UserInfo, check_role
from services.core.errors import Forbidden, InvalidInput, NotFoundError
from services.core.timeutil import aware, utcnow


@dataclass(frozen=True)
class IssuedKey:
    info: KeyInfo
    key: str  # the only copy of the secret: show it once


class Accounts:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.teams = TeamStore(sessions)
        self.keys = KeyStore(sessions)
        self.audit = AuditLog(sessions)

    # --- visibility ------------------------------------------------------------------------------

    @staticmethod
    def _owner(principal: Principal) -> None:
        if not principal.at_least("owner"):
            raise Forbidden("managing users and keys needs the owner role")

    def _visible_team(self, principal: Principal, name: str | None) -> TeamInfo:
        """The team ``name`` (default: the caller's) if the caller may administer it, else not found."""
        self._owner(principal)
        if name is None or name == principal.team_name:
            return self.teams.team(principal.team)
        if not principal.admin:
            raise NotFoundError(f"team {name!r} does not exist")
        return self.teams.team_by_name(name)

    def _scope(self, principal: Principal, team: str | None) -> str | None:
        """Team id to filter listings by: the named or own team; ``None`` (all) only for admins asking for all."""
        if team is None and principal.admin:
            return None
        return self._visible_team(principal, team).id

    # --- teams -----------------------------------------------------------------------------------

    def create_team(
        self, principal: Principal, name: str, max_collections: int | None = None, max_points: int | None = None
    ) -> TeamInfo:
        if not principal.admin:
            raise Forbidden("creating a team needs a deployment admin (the CLI, or a key made with --admin)")
        with self.sessions.begin() as s:
            team = self.teams.create_team(s, name, max_collections, max_points)
            audit.record(
                s, principal, "team.create", name, team.id, max_collections=max_collections, max_points=max_points
            )
        return team

    def list_teams(self, principal: Principal) -> list[TeamInfo]:
        if principal.admin:
            return self.teams.list_teams()
        return [self._visible_team(principal, None)]

    def get_team(self, principal: Principal, name: str) -> TeamInfo:
        return self._visible_team(principal, name)

    def set_quotas(
        self, principal: Principal, name: str, max_collections: int | None, max_points: int | None
    ) -> TeamInfo:
        """Set a team's own quotas (``None``: the deployment default). Admins only: owners could lift their own."""
        if not principal.admin:
            raise Forbidden("changing quotas needs a deployment admin (the CLI, or a key made with --admin)")
        team = self._visible_team(principal, name)
        with self.sessions.begin() as s:
            self.teams.set_quotas(s, team.id, max_collections, max_points)
            audit.record(
                s, principal, "team.quota", name, team.id, max_collections=max_collections, max_points=max_points
            )
        return self.teams.team(team.id)

    # --- users -----------------------------------------------------------------------------------

    def create_user(self, principal: Principal, name: str, role: str, team: str | None = None) -> UserInfo:
        t = self._visible_team(principal, team)
        self._not_above(principal, role)
        with self.sessions.begin() as s:
            user = self.teams.create_user(s, t.id, name, role)
            audit.record(s, principal, "user.create", name, t.id, user_id=user.id, role=role)
        return user

    def list_users(self, principal: Principal, team: str | None = None) -> list[UserInfo]:
        return self.teams.list_users(self._scope(principal, team))

    def user(self, principal: Principal, user_id: str) -> UserInfo:
        self._owner(principal)
        try:
            user = self.teams.user(user_id)
        except NotFoundError:
            raise NotFoundError(f"user {user_id!r} does not exist") from None
        if user.team_id != principal.team and not principal.admin:
            raise NotFoundError(f"user {user_id!r} does not exist")
        return user

    def disable_user(self, principal: Principal, user_id: str) -> UserInfo:
        """Disable a user and revoke their keys (users are kept: the audit log names them)."""
        user = self.user(principal, user_id)
        with self.sessions.begin() as s:
            revoked = self.teams.disable_user(s, user.id)
            audit.record(s, principal, "user.disable", user.name, user.team_id, user_id=user.id, keys_revoked=revoked)
        return self.teams.user(user.id)

    # --- keys ------------------------------------------------------------------------------------

    def _not_above(self, principal: Principal, role: str) -> None:
        if role_rank(check_role(role)) > role_rank(principal.role):
            raise Forbidden(f"a {principal.role} cannot issue the stronger role {role!r}")

    def create_key(
        self,
        principal: Principal,
        role: str,
        *,
        team: str | None = None,
        user: str | None = None,
        name: str = "",
        expires_at: dt.datetime | None = None,
        admin: bool = False,
    ) -> IssuedKey:
        """Issue a key for ``team`` (default: the caller's), optionally for one of its users (by name)."""
        t = self._visible_team(principal, team)
        self._not_above(principal, role)
        if admin and not principal.admin:
            raise Forbidden("only a deployment admin can issue an admin key")
        expires_at = aware(expires_at)
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput(f"expires_at {expires_at.isoformat()} is in the past")
        if len(name) > 128:
            raise InvalidInput("a key's name is at most 128 characters")
        user_id = None
        if user is not None:
            u = self.teams.user_by_name(t.id, user)
            if u.disabled_at is not None:
                raise InvalidInput(f"user {user!r} is disabled")
            if role_rank(role) > role_rank(u.role):
                raise InvalidInput(f"user {user!r} is a {u.role}: their key cannot have the role {role!r}")
            user_id = u.id
        with self.sessions.begin() as s:
            info, key = self.keys.create(
                s,
                t.id,
                role,
                user_id=user_id,
                name=name,
                expires_at=expires_at,
                admin=admin,
                created_by=principal.actor,
            )
            audit.record(
                s,
                principal,
                "key.create",
                info.id,
                t.id,
                role=role,
                user=user,
                name=name,
                admin=admin,
                expires_at=expires_at.isoformat() if expires_at else None,
            )
        return IssuedKey(info, key)

    def list_keys(self, principal: Principal, team: str | None = None) -> list[KeyInfo]:
        return self.keys.list(self._scope(principal, team))

    def key(self, principal: Principal, key_id: str) -> KeyInfo:
        self._owner(principal)
        try:
            info = self.keys.get(key_id)
        except NotFoundError:
            raise NotFoundError(f"API key {key_id!r} does not exist") from None
        if info.team_id != principal.team and not principal.admin:
            raise NotFoundError(f"API key {key_id!r} does not exist")
        return info

    def revoke_key(self, principal: Principal, key_id: str) -> KeyInfo:
        info = self.key(principal, key_id)
        with self.sessions.begin() as s:
            self.keys.revoke(s, key_id)
            audit.record(s, principal, "key.revoke", key_id, info.team_id, name=info.name)
        return self.keys.get(key_id)

    # --- audit -----------------------------------------------------------------------------------

    def audit_events(
        self,
        principal: Principal,
        team: str | None = None,
        limit: int = 100,
        action: str | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]:
        return self.audit.events(self._scope(principal, team), limit=limit, action=action, before=before)
