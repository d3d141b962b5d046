"""Chunk records of queued jobs: which slices of a source are planned, on the queue, running or finished.

The SQL database, not the broker, is the source of truth: Redis only carries ``(job_id, chunk)`` messages,
so a lost message (a killed worker, a restarted Redis) costs a resend, never an item.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.timeutil import aware, utcnow
from services.jobs.models import JobChunkRow, JobRow

FINISHED: tuple[str, ...] = ("done", "failed")
IN_FLIGHT: tuple[str, ...] = ("queued", "running")


@dataclass(frozen=True)
class ChunkPlan:
    """One planned chunk: its index in the job, what it covers (reader-specific) and how many entries."""

    idx: int
    spec: dict[str, Any]
    items: int


@dataclass(frozen=True)
class ChunkInfo:
    job_id: str
    idx: int
    spec: dict[str, Any]
    items: int
    state: str
    attempts: int


class ChunkStore:
    """Creates and moves chunk records. Every transition is a conditional UPDATE, safe across processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(self, job_id: str, plans: list[ChunkPlan]) -> None:
        """Record planned chunks; chunks already recorded (a re-plan after a crash) are left as they are."""
        if not plans:
            return
        with self.sessions.begin() as s:
            have = set(
                s.scalars(
                    select(JobChunkRow.idx).where(
                        JobChunkRow.job_id == job_id, JobChunkRow.idx.in_([p.idx for p in plans])
                    )
                )
            )
            s.add_all(
                JobChunkRow(job_id=job_id, idx=p.idx, spec=p.spec, items=p.items, state="pending", updated_at=utcnow())
                for p in plans
                if p.idx not in have
            )

    def planned(self, job_id: str) -> tuple[int, int]:
        """(chunks, entries) recorded for the job."""
        with self.sessions() as s:
            n, items = s.execute(
                select(func.count(), func.coalesce(func.sum(JobChunkRow.items), 0)).where(JobChunkRow.job_id == job_id)
            ).one()
            return int(n), int(items)

    def claim_pending(self, job_id: str, n: int) -> list[int]:
        """Move up to ``n`` pending chunks (lowest index first) to ``queued``; returns those this caller won."""
        if n <= 0:
            return []
        with self.sessions() as s:
            candidates = list(
                s.scalars(
                    select(JobChunkRow.idx)
                    .where(JobChunkRow.job_id == job_id, JobChunkRow.state == "pending")
                    .order_by(JobChunkRow.idx)
                    .limit(n)
                )
            )
        won = []
        for idx in candidates:
            with self.sessions.begin() as s:
                res = s.execute(
                    update(JobChunkRow)
                    .where(JobChunkRow.job_id == job_id, JobChunkRow.idx == idx, JobChunkRow.state == "pending")
                    .values(state="queued", updated_at=utcnow())
                )
                if res.rowcount:  # type: ignore[attr-defined]
                    won.append(idx)
        return won

    def count(self, job_id: str, states: tuple[str, ...]) -> int:
        with self.sessions() as s:
            n = s.scalar(select(func.count()).where(JobChunkRow.job_id == job_id, JobChunkRow.state.in_(states)))
            return int(n or 0)

    def start(self, job_id: str, idx: int, new_attempt: bool = True) -> ChunkInfo | None:
        """Mark a chunk running; ``None`` if it is unknown or already finished.

        ``new_attempt``: a fresh delivery (counted: deliveries that never finish mean a worker died);
        a task's own retry after a transient error is not counted.
        """
        with self.sessions.begin() as s:
            res = s.execute(
                update(JobChunkRow)
                .where(JobChunkRow.job_id == job_id, JobChunkRow.idx == idx, JobChunkRow.state.not_in(FINISHED))
                .values(state="running", attempts=JobChunkRow.attempts + int(new_attempt), updated_at=utcnow())
            )
            if not res.rowcount:  # type: ignore[attr-defined]
                return None
            row = s.get(JobChunkRow, (job_id, idx))
            assert row is not None
            return ChunkInfo(job_id, idx, row.spec or {}, row.items, row.state, row.attempts)

    def get(self, job_id: str, idx: int) -> ChunkInfo | None:
        with self.sessions() as s:
            row = s.get(JobChunkRow, (job_id, idx))
            if row is None:
                return None
            return ChunkInfo(job_id, idx, row.spec or {}, row.items, row.state, row.attempts)

    def touch(self, job_id: str, idx: int) -> None:
        """A heartbeat: the chunk's worker is alive (called once per batch)."""
        with self.sessions.begin() as s:
            s.execute(
                update(JobChunkRow)
                .where(JobChunkRow.job_id == job_id, JobChunkRow.idx == idx, JobChunkRow.state.in_(IN_FLIGHT))
                .values(updated_at=utcnow())
            )

    def finish(self, job_id: str, idx: int, state: str, message: str | None = None) -> bool:
        """Move a chunk to ``done`` or ``failed``; False if another delivery finished it first."""
        with self.sessions.begin() as s:
            res = s.execute(
                update(JobChunkRow)
                .where(JobChunkRow.job_id == job_id, JobChunkRow.idx == idx, JobChunkRow.state.not_in(FINISHED))
                .values(state=state, message=message, updated_at=utcnow())
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def set_items(self, job_id: str, idx: int, items: int) -> None:
        """Correct a chunk's entry count to what its reader really read."""
        with self.sessions.begin() as s:
            s.execute(
                update(JobChunkRow).where(JobChunkRow.job_id == job_id, JobChunkRow.idx == idx).values(items=items)
            )

    def requeue(self, job_id: str, idx: int) -> None:
        """Back on the queue (a resend): the clock restarts so the chunk is not resent again at once."""
        with self.sessions.begin() as s:
            s.execute(
                update(JobChunkRow)
                .where(JobChunkRow.job_id == job_id, JobChunkRow.idx == idx, JobChunkRow.state.not_in(FINISHED))
                .values(state="queued", updated_at=utcnow())
            )

    def reset_unfinished(self, job_id: str) -> None:
        """Resume: every chunk not finished goes back to pending (its counted batches stay counted)."""
        with self.sessions.begin() as s:
            s.execute(
                update(JobChunkRow)
                .where(JobChunkRow.job_id == job_id, JobChunkRow.state.not_in(FINISHED))
                .values(state="pending", attempts=0, updated_at=utcnow())
            )

    def stale(self, older_than_s: float) -> list[ChunkInfo]:
        """In-flight chunks of running jobs not heard from for ``older_than_s`` seconds."""
        cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
        with self.sessions() as s:
            rows = s.execute(
                select(JobChunkRow)
                .join(JobRow, JobRow.id == JobChunkRow.job_id)
                .where(JobRow.state == "running", JobChunkRow.state.in_(IN_FLIGHT))
            ).scalars()
            return [
                ChunkInfo(r.job_id, r.idx, r.spec or {}, r.items, r.state, r.attempts)
                for r in rows
                if aware(r.updated_at) < cutoff
            ]

    def jobs_in_state(self, state: str) -> list[tuple[str, dt.datetime]]:
        """(job id, last update) of every job in ``state`` (the sweeper's work list)."""
        with self.sessions() as s:
            rows = s.execute(select(JobRow.id, JobRow.updated_at).where(JobRow.state == state))
            return [(j, aware(t)) for j, t in rows]
