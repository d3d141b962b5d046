"""The job coordinator: plans a job into chunks, keeps a bounded number on the queue, counts, finishes.

It runs where the job records are (the API process, or a worker that reaches the database directly)
and is the only code that moves a job between states on the Celery path. Its guarantees:

- Planning is idempotent (chunk ``k`` always covers the same entries), so a re-plan after a crash
  adds only what is missing.
- At most ``max_queued_chunks`` chunks of a job sit on the broker; the rest wait in SQL
  (back-pressure: a million-item job is ~4,000 chunk rows, never a million messages).
- Batches are counted once (``JobStore.record_batch`` keys), whatever the number of deliveries.
- ``sweep`` resends chunks whose worker or message vanished (killed worker, restarted Redis) and gives
  up on a chunk after ``max_attempts`` deliveries, recording its uncounted items as failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.catalog.collections import recorded_model
from services.core.errors import SignifierError
from services.core.settings import WorkerSettings
from services.core.timeutil import utcnow
from services.jobs.chunks import IN_FLIGHT, ChunkInfo, ChunkPlan, ChunkStore
from services.jobs.kinds import JobSource
from services.jobs.records import JobStore
from services.jobs.runners import runner_for
from services.jobs.runners.base import JobContext
from services.sources.items import FailedItem

log = logging.getLogger(__name__)

SendChunk = Callable[[str, int], None]
PLAN_PAGE = 500  # chunk rows written per transaction while planning


class ChunkWork(BaseModel):
    """What a worker needs to run one chunk (also its wire form: ``/internal/v1/jobs/.../start``)."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    idx: int
    store_name: str  # the store's name for the job's collection
    source: JobSource
    spec: dict[str, Any]
    items: int
    collection: str = ""  # the collection's name (messages)
    model: dict[str, Any] | None = None  # the model it records (``ModelFingerprint.as_dict``); workers check theirs


def describe(spec: dict[str, Any]) -> str:
    """A person-readable name for a chunk's items, used when a whole chunk is recorded as failed."""
    if "video" in spec:
        end = "end" if spec.get("t1") is None else f"{spec['t1']:g} s"
        return f"{spec['video']} ({spec.get('t0', 0):g} s – {end})"
    if "shard" in spec:
        return str(spec["shard"])
    if "first" in spec:
        return f"rows {spec['first']}–{int(spec['first']) + int(spec['rows']) - 1}"
    if spec.get("files"):
        return f"{spec['files'][0]} … ({len(spec['files'])} files)"
    if "start" in spec:
        return f"urls[{spec['start']}:{spec['stop']}]"
    if spec.get("ids"):
        return f"points {spec['ids'][0]} … ({len(spec['ids'])} points)"
    return "chunk"


class JobCoordinator:
    """``ctx``: what planning needs (the store, for jobs planned over its points)."""

    def __init__(
        self,
        jobs: JobStore,
        chunks: ChunkStore,
        send: SendChunk,
        settings: WorkerSettings,
        ctx: JobContext | None = None,
    ) -> None:
        self.jobs = jobs
        self.chunks = chunks
        self.send = send
        self.settings = settings
        self.ctx = ctx or JobContext()

    def chunked(self, job_id: str) -> bool:
        """Whether the job is planned into chunks for workers (else the API process runs it itself)."""
        job = self.jobs.get(None, job_id, max_errors=0)
        try:
            return runner_for(job.source, job.store_name, self.ctx).chunked
        except SignifierError:
            return True  # a record this version cannot run: planning it records why

    # --- planning ------------------------------------------------------------------------------

    def plan(self, job_id: str) -> None:
        """Split a queued job's source into chunk records, then start it. Never raises."""
        try:
            job = self.jobs.get(None, job_id, max_errors=0)
            if job.state != "queued":
                return
            runner = runner_for(job.source, job.store_name, self.ctx)
            page: list[ChunkPlan] = []
            for idx, (spec, items) in enumerate(runner.plan(max(1, self.settings.chunk_size))):
                page.append(ChunkPlan(idx, spec, items))
                if len(page) >= PLAN_PAGE:
                    self.chunks.add(job_id, page)
                    page = []
            self.chunks.add(job_id, page)
            self.jobs.total_from_chunks(job_id)
            self.jobs.start(job_id)
            self.fill(job_id)
        except SignifierError as exc:
            self.jobs.finish(job_id, "failed", message=exc.message)
        except Exception as exc:
            log.exception("planning job %s failed", job_id)
            self.jobs.finish(job_id, "failed", message=f"internal error while planning: {type(exc).__name__}: {exc}")

    def resume(self, job_id: str) -> None:
        """A reopened (cancelled or failed) job: unfinished chunks go back to pending, then plan and start."""
        self.chunks.reset_unfinished(job_id)
        self.plan(job_id)

    def fill(self, job_id: str) -> None:
        """Top the job's queued chunks up to ``max_queued_chunks``; finish the job when nothing is left."""
        if self.jobs.state(job_id) != "running":
            return
        room = self.settings.max_queued_chunks - self.chunks.count(job_id, IN_FLIGHT)
        for idx in self.chunks.claim_pending(job_id, room):
            self._send(job_id, idx)
        if self.chunks.count(job_id, ("pending", *IN_FLIGHT)) == 0:
            self._complete(job_id)

    def _send(self, job_id: str, idx: int) -> None:
        try:
            self.send(job_id, idx)
        except Exception as exc:  # broker down: the chunk stays queued and the sweeper resends it
            log.warning("could not send chunk %s/%d (%s); the sweeper will retry", job_id, idx, exc)

    # --- what workers call -------------------------------------------------------------------

    def start_chunk(self, job_id: str, idx: int, retry: bool = False) -> ChunkWork | None:
        """Claim a delivery of a chunk; ``None``: nothing to do (job not running, chunk finished).

        ``retry``: the task's own retry after a transient error (not counted as a delivery)."""
        try:
            if self.jobs.state(job_id) != "running":
                return None
        except SignifierError:
            return None  # the job (or its collection) was deleted
        info = self.chunks.start(job_id, idx, new_attempt=not retry)
        if info is None:
            return None
        if info.attempts > self.settings.max_attempts:
            self._lose(info, f"abandoned after {self.settings.max_attempts} deliveries (its worker kept dying)")
            self.fill(job_id)
            return None
        job = self.jobs.get(None, job_id, max_errors=0)
        try:
            source = job.source
        except SignifierError as exc:
            self._lose(info, exc.message)
            self.fill(job_id)
            return None
        recorded = recorded_model(self.jobs.sessions, job.store_name)
        return ChunkWork(
            job_id=job_id,
            idx=idx,
            store_name=job.store_name,
            source=source,
            spec=info.spec,
            items=info.items,
            collection=job.collection,
            model=recorded[1].as_dict() if recorded else None,
        )

    def record_batch(
        self,
        job_id: str,
        idx: int,
        batch: int,
        done: int,
        errors: list[FailedItem],
        timings: dict[str, float],
        skipped: int = 0,
    ) -> bool:
        """Count one batch of a chunk (once, however often it is delivered); True if the job was cancelled.

        ``skipped``: of ``done``, the items the collection held already."""
        self.jobs.record_batch(job_id, f"{idx}:{batch}", done, errors, chunk=idx, timings=timings, skipped=skipped)
        self.chunks.touch(job_id, idx)
        return self.jobs.state(job_id) == "cancelled"

    def finish_chunk(self, job_id: str, idx: int, entries: int, error: str | None = None) -> None:
        """A chunk ran to its end (``entries`` read) or failed as a whole (``error``); queue the next ones."""
        if error is not None:
            info = self.chunks.get(job_id, idx)
            if info is not None:
                self._lose(info, error)
        elif self.chunks.finish(job_id, idx, "done"):
            # The plan counted entries from headers or rows; the reader's count is the truth.
            self.chunks.set_items(job_id, idx, entries)
            self.jobs.total_from_chunks(job_id)
        self.fill(job_id)

    # --- recovery ----------------------------------------------------------------------------

    def sweep(self, replan_queued_older_than_s: float | None = None) -> None:
        """Resend silent chunks, top up running jobs, re-plan queued jobs nobody is planning."""
        for info in self.chunks.stale(self.settings.requeue_after_s):
            if info.attempts >= self.settings.max_attempts:
                self._lose(info, f"abandoned after {info.attempts} deliveries (its worker kept dying)")
            else:
                log.info("resending chunk %s/%d (silent for a while)", info.job_id, info.idx)
                self.chunks.requeue(info.job_id, info.idx)
                self._send(info.job_id, info.idx)
        for job_id, _ in self.chunks.jobs_in_state("running"):
            if self.chunks.planned(job_id)[0]:  # jobs run in-process (uploads) have no chunks
                self.fill(job_id)
        if replan_queued_older_than_s is not None:
            cutoff = utcnow() - dt.timedelta(seconds=replan_queued_older_than_s)
            for job_id, updated in self.chunks.jobs_in_state("queued"):
                # Jobs this process's local queue runs (uploads; classify on an embedded store) wait there.
                if updated <= cutoff and self.chunked(job_id):
                    self.plan(job_id)

    def _lose(self, info: ChunkInfo, reason: str) -> None:
        """Finish a chunk as failed; its entries not yet counted are counted as failed, with one reason."""
        if not self.chunks.finish(info.job_id, info.idx, "failed", message=reason):
            return
        missing = info.items - self.jobs.counted_in_chunk(info.job_id, info.idx)
        if missing > 0:
            error = FailedItem(describe(info.spec), f"{missing} item(s) not processed: {reason}")
            self.jobs.record_batch(info.job_id, f"{info.idx}:lost", 0, [error], chunk=info.idx, failed=missing)

    def _complete(self, job_id: str) -> None:
        failed = self.chunks.count(job_id, ("failed",))
        job = self.jobs.get(None, job_id, max_errors=0)
        timings: dict[str, Any] = {}
        if job.started_at is not None:
            seconds = (utcnow() - job.started_at).total_seconds()  # JobStore.get hands back aware times
            timings = {"total_seconds": round(seconds, 3)}
            if seconds > 0:
                timings["items_per_second"] = round((job.done + job.failed) / seconds, 2)
        message = f"{failed} chunk(s) could not be processed; see errors" if failed else None
        self.jobs.finish(job_id, "done", message=message, timings=timings)
