"""Job results: what a map or duplicates job computed, stored per job and read back per collection."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.timeutil import aware, utcnow
from services.jobs.models import JobResultRow, JobRow


@dataclass(frozen=True)
class JobResult:
    """One job's stored result; ``points``: the collection's point count when the job read it."""

    job_id: str
    kind: str
    points: int
    data: dict[str, Any]
    updated_at: dt.datetime | None
    state: str  # the job's state now (a map's first, PCA view is stored while the job still runs)


class JobResults:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, job_id: str, collection_id: str, kind: str, points: int, data: dict[str, Any]) -> None:
        """Store (or replace) the job's result."""
        blob = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)
        with self.sessions.begin() as s:
            row = s.get(JobResultRow, job_id)
            if row is None:
                s.add(JobResultRow(job_id=job_id, collection_id=collection_id, kind=kind, points=points, data=blob))
            else:
                row.points, row.data, row.updated_at = points, blob, utcnow()

    def latest(self, collection_id: str, kind: str) -> JobResult | None:
        """The newest job of ``kind`` on the collection that stored a result, or None."""
        with self.sessions() as s:
            found = s.execute(
                select(JobResultRow, JobRow.state)
                .join(JobRow, JobRow.id == JobResultRow.job_id)
                .where(JobResultRow.collection_id == collection_id, JobResultRow.kind == kind)
                .order_by(JobRow.created_at.desc())
                .limit(1)
            ).first()
            if found is None:
                return None
            row, state = found
            data = json.loads(zlib.decompress(row.data))
            return JobResult(row.job_id, row.kind, row.points, data, aware(row.updated_at), state)
