"""Job records: state, progress counters, per-item failures, timings. The source of truth for ``/v1/jobs``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.principal import Principal
from services.core.errors import JobNotFound
from services.core.timeutil import aware, utcnow
from services.jobs.kinds import JobSource, dump_source, parse_source
from services.jobs.models import JobBatchRow, JobChunkRow, JobErrorRow, JobRow
from services.sources.items import FailedItem

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"done", "failed", "cancelled"})
STAGES = ("decode", "embed", "upsert")


@dataclass(frozen=True)
class JobInfo:
    """A job as recorded. ``collection`` is the team's name for it, ``store_name`` the vector store's."""

    job_id: str
    collection: str
    store_name: str
    state: str
    total: int
    done: int
    failed: int
    errors: list[FailedItem] = field(default_factory=list)
    skipped: int = 0  # of ``done``: already in the collection, not stored again
    error_count: int = 0  # item failures recorded (``errors`` holds the first of them)
    source_record: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @cached_property
    def source(self) -> JobSource:
        """The typed source; raises ``InvalidInput`` ("submit it again") for a record this version cannot run."""
        return parse_source(self.source_record)


def new_job_id() -> str:
    return str(uuid.uuid4())


class JobStore:
    """Creates and updates job records. Counters are updated with SQL increments, safe across workers."""

    def __init__(self, sessions: sessionmaker[Session], max_errors: int = 10_000) -> None:
        self.sessions = sessions
        self.max_errors = max_errors

    def create(
        self, principal: Principal, collection: str, store_name: str, source: JobSource, job_id: str | None = None
    ) -> str:
        """Record a queued job of ``principal``'s team on ``collection`` (its points go to ``store_name``).

        ``job_id``: chosen by the caller when the source names it (an upload's folder); default a new UUID."""
        job_id = job_id or new_job_id()
        with self.sessions.begin() as s:
            s.add(
                JobRow(
                    id=job_id,
                    collection=collection,
                    store_name=store_name,
                    team=principal.team,
                    source=dump_source(source),
                    state="queued",
                )
            )
        return job_id

    def get(self, principal: Principal | None, job_id: str, max_errors: int = 1_000) -> JobInfo:
        """The job with up to ``max_errors`` of its item failures; ``principal=None`` skips the team check."""
        with self.sessions() as s:
            row = s.get(JobRow, job_id)
            if row is None or (principal is not None and row.team != principal.team):
                raise JobNotFound(job_id)
            errs = list(
                s.scalars(
                    select(JobErrorRow).where(JobErrorRow.job_id == job_id).order_by(JobErrorRow.id).limit(max_errors)
                )
            )
            # Counted only when the list may be cut short, so a job with few errors costs no extra query.
            n_errors = (
                len(errs)
                if len(errs) < max_errors
                else int(s.scalar(select(func.count()).where(JobErrorRow.job_id == job_id)) or 0)
            )
            return JobInfo(
                job_id=row.id,
                collection=row.collection,
                store_name=row.store_name or row.collection,
                state=row.state,
                total=row.total,
                done=row.done,
                failed=row.failed,
                skipped=row.skipped or 0,
                error_count=n_errors,
                errors=[FailedItem(e.item, e.reason) for e in errs],
                source_record=row.source or {},
                timings={**_stage_timings(s, job_id), **(row.timings or {})},
                message=row.message,
                # SQLite hands back naive UTC; the API promises RFC 3339 date-times (with an offset).
                created_at=aware(row.created_at),
                started_at=aware(row.started_at),
                finished_at=aware(row.finished_at),
            )

    def list_for(
        self, principal: Principal, collection: str | None = None, limit: int = 100, max_errors: int = 10
    ) -> list[JobInfo]:
        """The team's newest jobs, each with up to ``max_errors`` of its item failures."""
        with self.sessions() as s:
            q = select(JobRow.id).where(JobRow.team == principal.team)
            if collection:
                q = q.where(JobRow.collection == collection)
            ids = list(s.scalars(q.order_by(JobRow.created_at.desc()).limit(limit)))
        return [self.get(principal, i, max_errors=max_errors) for i in ids]

    def state(self, job_id: str) -> str:
        with self.sessions() as s:
            st = s.scalar(select(JobRow.state).where(JobRow.id == job_id))
            if st is None:
                raise JobNotFound(job_id)
            return st

    def start(self, job_id: str) -> None:
        with self.sessions.begin() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "queued")
                .values(state="running", started_at=utcnow())
            )

    def set_total(self, job_id: str, n: int) -> None:
        """Set the number of entries the job's source holds (planning is idempotent, so it sets, not adds)."""
        with self.sessions.begin() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(total=n))

    def total_from_chunks(self, job_id: str) -> None:
        """Set the job's total to the entries its chunks hold (planned counts, or what chunks really read)."""
        with self.sessions.begin() as s:
            total = select(func.coalesce(func.sum(JobChunkRow.items), 0)).where(JobChunkRow.job_id == job_id)
            s.execute(update(JobRow).where(JobRow.id == job_id).values(total=total.scalar_subquery()))

    def record_batch(
        self,
        job_id: str,
        key: str,
        done: int = 0,
        errors: list[FailedItem] | None = None,
        *,
        chunk: int = 0,
        failed: int | None = None,
        timings: dict[str, float] | None = None,
        skipped: int = 0,
    ) -> bool:
        """Count one batch's outcome exactly once: False (and nothing changed) if ``key`` was counted before.

        A redelivered task replays its batches with the same keys, so counters never double count.
        ``failed`` defaults to ``len(errors)`` (a lost chunk records one error for many items).
        ``timings``: seconds per stage (``decode``, ``embed``, ``upsert``) spent on the batch.
        ``skipped``: of ``done``, the items the collection held already (not stored again).
        """
        errors = errors or []
        n_failed = len(errors) if failed is None else failed
        t = timings or {}
        try:
            with self.sessions.begin() as s:
                s.add(
                    JobBatchRow(
                        job_id=job_id,
                        key=key,
                        chunk=chunk,
                        done=done,
                        failed=n_failed,
                        skipped=skipped,
                        decode_seconds=float(t.get("decode", 0.0)),
                        embed_seconds=float(t.get("embed", 0.0)),
                        upsert_seconds=float(t.get("upsert", 0.0)),
                    )
                )
                s.flush()  # the primary key (job_id, key) refuses a second count here
                self._count(s, job_id, done, n_failed, errors, skipped)
        except IntegrityError:
            return False
        return True

    def counted_in_chunk(self, job_id: str, chunk: int) -> int:
        """Entries (stored + failed) already counted for one chunk of a job."""
        with self.sessions() as s:
            n = s.scalar(
                select(func.coalesce(func.sum(JobBatchRow.done + JobBatchRow.failed), 0)).where(
                    JobBatchRow.job_id == job_id, JobBatchRow.chunk == chunk
                )
            )
            return int(n or 0)

    def unfinished(self) -> list[str]:
        """The ids of every queued or running job, oldest first."""
        with self.sessions() as s:
            rows = s.scalars(
                select(JobRow.id).where(JobRow.state.in_(("queued", "running"))).order_by(JobRow.created_at)
            )
            return list(rows)

    def reopen(self, job_id: str) -> bool:
        """Put a cancelled or failed job back to ``queued`` (resume); False if it was not in such a state."""
        with self.sessions.begin() as s:
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.in_(("cancelled", "failed")))
                .values(state="queued", finished_at=None, message=None)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def _count(
        self, s: Session, job_id: str, done: int, failed: int, errors: list[FailedItem], skipped: int = 0
    ) -> None:
        s.execute(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(done=JobRow.done + done, failed=JobRow.failed + failed, skipped=JobRow.skipped + skipped)
        )
        if errors:
            stored = s.scalar(select(func.count()).where(JobErrorRow.job_id == job_id)) or 0
            room = max(0, self.max_errors - stored)
            s.add_all(JobErrorRow(job_id=job_id, item=e.item, reason=e.reason) for e in errors[:room])

    def finish(
        self, job_id: str, state: JobState, message: str | None = None, timings: dict[str, Any] | None = None
    ) -> None:
        with self.sessions.begin() as s:
            values: dict[str, Any] = {"state": state, "finished_at": utcnow(), "message": message}
            if timings is not None:
                values["timings"] = timings
            # A cancelled job stays cancelled even if its runner finishes the batch in hand.
            s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state.not_in(TERMINAL)).values(**values))

    def cancel(self, principal: Principal, job_id: str) -> JobInfo:
        self.get(principal, job_id, max_errors=0)
        self.finish(job_id, "cancelled", message="cancelled by request")
        return self.get(principal, job_id)

    def delete_for_collection(self, collection: str, *, team: str) -> None:
        """Delete ``team``'s job records of ``collection`` (collection names are unique only per team)."""
        with self.sessions.begin() as s:
            s.execute(delete(JobRow).where(JobRow.collection == collection, JobRow.team == team))


def _stage_timings(s: Session, job_id: str) -> dict[str, Any]:
    """Seconds per stage summed over the job's counted batches (decode is summed over decode threads)."""
    row = s.execute(
        select(
            func.count(),
            func.coalesce(func.sum(JobBatchRow.decode_seconds), 0.0),
            func.coalesce(func.sum(JobBatchRow.embed_seconds), 0.0),
            func.coalesce(func.sum(JobBatchRow.upsert_seconds), 0.0),
        ).where(JobBatchRow.job_id == job_id)
    ).one()
    if not row[0]:
        return {}
    stages = {f"{st}_seconds": round(float(v), 4) for st, v in zip(STAGES, row[1:], strict=True)}
    return {"batches": int(row[0]), **stages}
