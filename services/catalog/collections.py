"""The collection registry: which team owns which collection, and the model its vectors came from.

The vector store holds the points; this registry is the authority on visibility. A collection is
identified by (team, name): users only ever see and type ``name``, unique within their team. The
store knows it by ``store_name`` (``<name>-<12 random hex digits>``, unique in the deployment), so
two teams can both have "photos", and a collection deleted and created again never meets stale
points. A collection of another team is reported as not found, never as forbidden, so names of
other teams' collections do not leak.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.accounts import audit, quotas
from services.accounts.principal import Principal
from services.accounts.team_models import TeamRow
from services.catalog.models import CollectionRow
from services.core.errors import AlreadyExists, CollectionNotFound, Forbidden
from services.core.settings import QuotaSettings
from services.core.timeutil import aware, utcnow
from services.vectorstore.base import CollectionSpec, VectorStore, check_collection_name
from services.vectorstore.thumbnails import ThumbnailStore


@dataclass(frozen=True)
class CollectionInfo:
    """``name``: what the team calls it (routes, job records, messages). ``store_name``: what to pass
    to the vector store — never ``name``."""

    name: str
    team: str
    model: str
    dim: int
    created_at: dt.datetime
    store_name: str
    id: str = ""


def _info(row: CollectionRow) -> CollectionInfo:
    return CollectionInfo(row.name, row.team, row.model, row.dim, aware(row.created_at), row.store_name, row.id)


def _row(s: Session, team: str, name: str) -> CollectionRow | None:
    return s.scalar(select(CollectionRow).where(CollectionRow.team == team, CollectionRow.name == name))


def store_name_for(name: str) -> str:
    """A deployment-unique store name that still tells an operator which collection it is.

    At most 53 characters (40 of the name, a dash, 12 hex digits), inside the stores' 64-character
    limit; 48 random bits make a clash unlikely, and the unique index turns one into a retry.
    """
    return f"{name[:40]}-{secrets.token_hex(6)}"


class CollectionRegistry:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: VectorStore,
        quota_defaults: QuotaSettings | None = None,
        thumbnails: ThumbnailStore | None = None,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.quota_defaults = quota_defaults or QuotaSettings()
        self.thumbnails = thumbnails  # None: this registry does not delete thumbnails (CLI reads, tests)

    def create(self, principal: Principal, name: str, model: str, dim: int) -> CollectionInfo:
        if not principal.can_write():
            raise Forbidden("creating a collection needs the owner or editor role")
        check_collection_name(name)
        for attempt in range(3):
            try:
                return self._create(principal, name, model, dim)
            except IntegrityError:
                if self._exists(principal.team, name):  # created by a concurrent request
                    raise AlreadyExists(f"collection {name!r} already exists") from None
                if attempt == 2:
                    raise
                # else a store-name clash (48 random bits): draw another
        raise AssertionError("unreachable")

    def _create(self, principal: Principal, name: str, model: str, dim: int) -> CollectionInfo:
        with self.sessions.begin() as s:
            # Lock the team's row (PostgreSQL) so concurrent creates count its collections one at a time.
            team = s.scalar(select(TeamRow).where(TeamRow.id == principal.team).with_for_update())
            current = s.scalar(select(func.count()).where(CollectionRow.team == principal.team)) or 0
            if _row(s, principal.team, name) is not None:
                raise AlreadyExists(f"collection {name!r} already exists")
            quotas.check_collections(quotas.effective(team, self.quota_defaults), current, principal.team_name)
            row = CollectionRow(
                id=str(uuid.uuid4()),
                team=principal.team,
                name=name,
                store_name=store_name_for(name),
                model=model,
                dim=dim,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()  # the unique indexes speak before the store is touched
            # Inside the transaction: if the store refuses, the row is rolled back with it.
            self.store.create_collection(CollectionSpec(name=row.store_name, dim=dim))
            return _info(row)

    def _exists(self, team: str, name: str) -> bool:
        with self.sessions() as s:
            return _row(s, team, name) is not None

    def get(self, principal: Principal, name: str) -> CollectionInfo:
        """The caller's team's collection ``name``; ``CollectionNotFound`` for any other team's."""
        with self.sessions() as s:
            row = _row(s, principal.team, name)
            if row is None:
                raise CollectionNotFound(name)
            return _info(row)

    def list_for(self, principal: Principal) -> list[CollectionInfo]:
        with self.sessions() as s:
            rows = s.scalars(
                select(CollectionRow).where(CollectionRow.team == principal.team).order_by(CollectionRow.name)
            )
            return [_info(r) for r in rows]

    def list_all(self) -> list[CollectionInfo]:
        """Every team's collections (operators: which store collection belongs to whom)."""
        with self.sessions() as s:
            return [_info(r) for r in s.scalars(select(CollectionRow).order_by(CollectionRow.team, CollectionRow.name))]

    def points_used(self, team: str) -> int:
        """Points stored in all of ``team``'s collections."""
        with self.sessions() as s:
            names = list(s.scalars(select(CollectionRow.store_name).where(CollectionRow.team == team)))
        return sum(self.store.count(n) for n in names)

    def delete(self, principal: Principal, name: str) -> None:
        if principal.role != "owner":
            raise Forbidden("deleting a collection needs the owner role")
        info = self.get(principal, name)
        with self.sessions.begin() as s:
            row = s.get(CollectionRow, info.id)
            if row is not None:
                s.delete(row)
            audit.record(s, principal, "collection.delete", name, principal.team, store_name=info.store_name)
            if self.store.collection_exists(info.store_name):
                self.store.delete_collection(info.store_name)
        # After the commit: a failed delete keeps the thumbnails of the collection it kept.
        if self.thumbnails is not None:
            self.thumbnails.delete_collection(info.store_name)
