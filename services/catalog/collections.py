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
import logging
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.accounts import audit, quotas
from services.accounts.principal import Principal
from services.accounts.team_models import TeamRow
from services.catalog.model_check import mismatch
from services.catalog.models import CollectionRow
from services.core.errors import AlreadyExists, CollectionNotFound, Forbidden
from services.core.settings import QuotaSettings
from services.core.timeutil import aware, utcnow
from services.encoders.fingerprint import ModelFingerprint, same_space
from services.vectorstore.base import CollectionSpec, VectorStore, check_collection_name
from services.vectorstore.thumbnails import ThumbnailStore
from services.vectorstore.videos import VideoRegistry

log = logging.getLogger(__name__)


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
    family: str | None = None
    precision: str | None = None
    digest: str | None = None  # None: created before fingerprints were recorded (see ``check_model``)
    text_dim: int | None = None

    @property
    def fingerprint(self) -> ModelFingerprint:
        """The recorded model (``digest`` None for a collection made before fingerprints)."""
        return ModelFingerprint(
            model_id=self.model,
            family=self.family or "unknown",
            image_dim=self.dim,
            text_dim=self.text_dim or self.dim,
            precision=self.precision or "fp32",
            digest=self.digest,
        )


def _info(row: CollectionRow) -> CollectionInfo:
    return CollectionInfo(
        row.name,
        row.team,
        row.model,
        row.dim,
        aware(row.created_at),
        row.store_name,
        row.id,
        family=row.model_family,
        precision=row.model_precision,
        digest=row.model_digest,
        text_dim=row.text_dim,
    )


def _row(s: Session, team: str, name: str) -> CollectionRow | None:
    return s.scalar(select(CollectionRow).where(CollectionRow.team == team, CollectionRow.name == name))


def store_name_for(name: str) -> str:
    """A deployment-unique store name that still tells an operator which collection it is.

    At most 53 characters (40 of the name, a dash, 12 hex digits), inside the stores' 64-character
    limit; 48 random bits make a clash unlikely, and the unique index turns one into a retry.
    """
    return f"{name[:40]}-{secrets.token_hex(6)}"


def recorded_model(sessions: sessionmaker[Session], store_name: str) -> tuple[str, ModelFingerprint] | None:
    """The name of the collection the store knows as ``store_name`` and the model it records (None: gone).
    Job runs check it against their own model before they embed (``services/jobs/lifecycle.py``)."""
    with sessions() as s:
        row = s.scalar(select(CollectionRow).where(CollectionRow.store_name == store_name))
        return (row.name, _info(row).fingerprint) if row is not None else None


class CollectionRegistry:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: VectorStore,
        quota_defaults: QuotaSettings | None = None,
        thumbnails: ThumbnailStore | None = None,
        videos: VideoRegistry | None = None,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.quota_defaults = quota_defaults or QuotaSettings()
        self.thumbnails = thumbnails  # None: this registry does not delete thumbnails (CLI reads, tests)
        self.videos = videos  # None: nor video records (what the stream route may serve)

    def create(
        self, principal: Principal, name: str, model: str, dim: int, fingerprint: ModelFingerprint | None = None
    ) -> CollectionInfo:
        """A new empty collection for ``model`` (``dim``-d vectors); ``fingerprint``: the creating
        server's model, recorded so that another model is refused (``check_model``)."""
        if not principal.can_write():
            raise Forbidden("creating a collection needs the owner or editor role")
        check_collection_name(name)
        for attempt in range(3):
            try:
                return self._create(principal, name, model, dim, fingerprint)
            except IntegrityError:
                if self._exists(principal.team, name):  # created by a concurrent request
                    raise AlreadyExists(f"collection {name!r} already exists") from None
                if attempt == 2:
                    raise
                # else a store-name clash (48 random bits): draw another
        raise AssertionError("unreachable")

    def _create(
        self, principal: Principal, name: str, model: str, dim: int, fp: ModelFingerprint | None
    ) -> CollectionInfo:
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
                model_digest=fp.digest if fp else None,
                model_family=fp.family if fp else None,
                model_precision=fp.precision if fp else None,
                text_dim=fp.text_dim if fp else None,
            )
            s.add(row)
            s.flush()  # the unique indexes speak before the store is touched
            # Inside the transaction: if the store refuses, the row is rolled back with it.
            self.store.create_collection(CollectionSpec(name=row.store_name, dim=dim))
            return _info(row)

    def check_model(self, info: CollectionInfo, running: ModelFingerprint) -> CollectionInfo:
        """``info`` if its vectors are in ``running``'s space, else ``ModelMismatch`` (HTTP 409) naming both.

        A collection created before fingerprints were recorded (no digest) is adopted by the first
        server whose model id and dim match the recorded ones: its fingerprint is written then (logged),
        and from then on only that checkpoint may use the collection. Another model id is refused.
        """
        recorded = info.fingerprint
        if not same_space(recorded, running):
            raise mismatch(info.name, recorded, running)
        if info.digest is not None or running.digest is None:
            return info
        with self.sessions.begin() as s:
            s.execute(
                update(CollectionRow)
                .where(CollectionRow.id == info.id, CollectionRow.model_digest.is_(None))
                .values(
                    model_digest=running.digest,
                    model_family=running.family,
                    model_precision=running.precision,
                    text_dim=running.text_dim,
                )
            )
            row = s.get(CollectionRow, info.id)
            adopted = _info(row) if row is not None else info
        if adopted.digest != running.digest:  # a concurrent adopter with another checkpoint of that name won
            raise mismatch(info.name, adopted.fingerprint, running)
        log.warning(
            "collection %r (team %s) had no model fingerprint; adopted %s, whose model id and dim match",
            info.name,
            info.team,
            running.describe(),
        )
        return adopted

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
        # After the commit: a failed delete keeps the thumbnails and video records of the collection it kept.
        if self.thumbnails is not None:
            self.thumbnails.delete_collection(info.store_name)
        if self.videos is not None:
            self.videos.delete_collection(info.store_name)
