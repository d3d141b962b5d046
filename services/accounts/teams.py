"""Teams and their users: create, look up, list, disable. Permission checks live in ``admin``."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.principal import ROLES, Role
from services.accounts.team_models import ApiKeyRow, TeamRow, UserRow
from services.core.errors import AlreadyExists, InvalidInput, NotFoundError
from services.core.timeutil import aware, utcnow

TEAM_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # always fullmatch: "$" would allow a final "\n"
USER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")


@dataclass(frozen=True)
class TeamInfo:
    id: str
    name: str
    created_at: dt.datetime
    max_collections: int | None
    max_points: int | None


@dataclass(frozen=True)
class UserInfo:
    id: str
    team_id: str
    name: str
    role: Role
    created_at: dt.datetime
    disabled_at: dt.datetime | None


def check_team_name(name: str) -> str:
    if not TEAM_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid team name {name!r}: use 1-64 lowercase letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInput(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    return role


def check_quota(name: str, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise InvalidInput(f"{name} must be 0 or more (or unset for the deployment's default), got {value}")
    return value


def team_info(row: TeamRow) -> TeamInfo:
    return TeamInfo(row.id, row.name, aware(row.created_at), row.max_collections, row.max_points)


def user_info(row: UserRow) -> UserInfo:
    return UserInfo(row.id, row.team_id, row.name, cast(Role, row.role), aware(row.created_at), aware(row.disabled_at))


class TeamStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # --- teams ---------------------------------------------------------------------------------

    def create_team(
        self, s: Session, name: str, max_collections: int | None = None, max_points: int | None = None
    ) -> TeamInfo:
        """A new team in the caller's transaction ``s``; ``AlreadyExists`` if the name is taken."""
        row = TeamRow(
            id=str(uuid.uuid4()),
            name=check_team_name(name),
            created_at=utcnow(),
            max_collections=check_quota("max_collections", max_collections),
            max_points=check_quota("max_points", max_points),
        )
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            raise AlreadyExists(f"team {name!r} already exists") from None
        return team_info(row)

    def team(self, team_id: str) -> TeamInfo:
        with self.sessions() as s:
            row = s.get(TeamRow, team_id)
            if row is None:
                raise NotFoundError(f"team {team_id!r} does not exist")
            return team_info(row)

    def team_by_name(self, name: str) -> TeamInfo:
        with self.sessions() as s:
            row = s.scalar(select(TeamRow).where(TeamRow.name == name))
            if row is None:
                raise NotFoundError(f"team {name!r} does not exist")
            return team_info(row)

    def list_teams(self) -> list[TeamInfo]:
        with self.sessions() as s:
            return [team_info(r) for r in s.scalars(select(TeamRow).order_by(TeamRow.name))]

    def set_quotas(self, s: Session, team_id: str, max_collections: int | None, max_points: int | None) -> None:
        s.execute(
            update(TeamRow)
            .where(TeamRow.id == team_id)
            .values(
                max_collections=check_quota("max_collections", max_collections),
                max_points=check_quota("max_points", max_points),
            )
        )

    # --- users ---------------------------------------------------------------------------------

    def create_user(self, s: Session, team_id: str, name: str, role: str) -> UserInfo:
        if not USER_NAME_RE.fullmatch(name):
            raise InvalidInput(
                f"invalid user name {name!r}: use 1-128 letters, digits or '_.@+-', starting with a letter or digit"
            )
        row = UserRow(id=str(uuid.uuid4()), team_id=team_id, name=name, role=check_role(role), created_at=utcnow())
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            raise AlreadyExists(f"user {name!r} already exists in this team") from None
        return user_info(row)

    def user(self, user_id: str) -> UserInfo:
        with self.sessions() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"user {user_id!r} does not exist")
            return user_info(row)

    def user_by_name(self, team_id: str, name: str) -> UserInfo:
        with self.sessions() as s:
            row = s.scalar(select(UserRow).where(UserRow.team_id == team_id, UserRow.name == name))
            if row is None:
                raise NotFoundError(f"user {name!r} does not exist in this team")
            return user_info(row)

    def list_users(self, team_id: str | None) -> list[UserInfo]:
        with self.sessions() as s:
            q = select(UserRow).order_by(UserRow.team_id, UserRow.name)
            if team_id is not None:
                q = q.where(UserRow.team_id == team_id)
            return [user_info(r) for r in s.scalars(q)]

    def disable_user(self, s: Session, user_id: str) -> int:
        """Disable the user and revoke their live keys; returns how many keys were revoked."""
        now = utcnow()
        s.execute(update(UserRow).where(UserRow.id == user_id, UserRow.disabled_at.is_(None)).values(disabled_at=now))
        result = s.execute(
            update(ApiKeyRow).where(ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None)).values(revoked_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
