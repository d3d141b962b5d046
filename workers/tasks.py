"""Celery tasks: thin wrappers that claim a chunk, run it through the job lifecycle, report.

One task runs one chunk of a job, of any chunked kind (ingestion, collection classify): the lifecycle
(``services/jobs/lifecycle.py``) opens the kind's runner. It may run more than once (a redelivery after a
crash, a resend by the sweeper): point ids come from content and batches are counted by key, so a second run stores
and counts nothing twice. Transient failures (API, store or network down) are retried with backoff;
permanent ones end the chunk as failed with the reason recorded against its items.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from services.encoders.fingerprint import ModelFingerprint
from services.ingest.runner import Reporter
from services.jobs.celery_client import CHUNK_TASK
from services.jobs.lifecycle import Assignment, execute
from services.jobs.runners.base import JobContext, JobRunner, RunOutcome
from services.sources.items import FailedItem
from workers.backends import WorkerBackend, is_transient
from workers.celery_app import WorkerContext, worker_context

log = logging.getLogger(__name__)


class ChunkReporter:
    """Reports each batch of a chunk to the backend; learns of a cancellation from the reply."""

    def __init__(self, backend: WorkerBackend, job_id: str, idx: int) -> None:
        self.backend = backend
        self.job_id = job_id
        self.idx = idx
        self._cancelled = False

    def progress(
        self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float], skipped: int = 0
    ) -> None:
        self._cancelled = self.backend.record_batch(self.job_id, self.idx, batch, done, failed, timings, skipped)

    def cancelled(self) -> bool:
        return self._cancelled


class ChunkLedger:
    """One chunk's bookkeeping, through the worker's backend: claimed, reported batch by batch, finished."""

    def __init__(self, backend: WorkerBackend, job_id: str, idx: int, retry: bool) -> None:
        self.backend = backend
        self.job_id = job_id
        self.idx = idx
        self.retry = retry
        self.status = "skipped"

    def begin(self) -> Assignment | None:
        work = self.backend.start_chunk(self.job_id, self.idx, self.retry)
        if work is None:
            return None
        model = ModelFingerprint.from_dict(work.model) if work.model else None
        return Assignment(work.job_id, work.source, work.store_name, work.spec, collection=work.collection, model=model)

    def started(self, runner: JobRunner) -> None:
        """The job's total comes from its plan, not from the chunk."""

    def reporter(self) -> Reporter:
        return ChunkReporter(self.backend, self.job_id, self.idx)

    def finish(self, outcome: RunOutcome) -> None:
        if outcome.cancelled:
            self.status = "cancelled"
            return
        self.backend.finish_chunk(self.job_id, self.idx, outcome.entries)
        self.status = f"done: {outcome.done} stored ({outcome.skipped} already there), {outcome.failed} failed"

    def fail(self, reason: str) -> None:
        log.warning("chunk %s/%d failed: %s", self.job_id, self.idx, reason)
        self.backend.finish_chunk(self.job_id, self.idx, 0, error=reason)
        self.status = "failed"


def run_chunk(ctx: WorkerContext, job_id: str, idx: int, retry: bool = False) -> str:
    """Run one chunk; returns what happened. Transient errors propagate (the task retries them)."""
    ledger = ChunkLedger(ctx.backend, job_id, idx, retry)
    jobs = JobContext(
        pipeline=ctx.pipeline, store=ctx.backend.store, shared_store=ctx.backend.store is not None, model=ctx.model
    )
    execute(ledger, jobs, transient=is_transient)
    return ledger.status


@shared_task(bind=True, name=CHUNK_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # Celery ships no types
def ingest_chunk(self: Task, job_id: str, idx: int) -> str:
    ctx = worker_context()
    try:
        return run_chunk(ctx, job_id, idx, retry=bool(self.request.retries))
    except Exception as exc:
        if not is_transient(exc):
            raise
        w = ctx.settings.workers
        retries: int = self.request.retries or 0
        if retries >= w.max_retries:
            # Give up on this delivery; the chunk stays in flight and the API's sweeper resends it later.
            log.error("chunk %s/%d: giving up after %d retries: %s", job_id, idx, retries, exc)
            return "gave up"
        countdown = min(60.0, w.retry_backoff_s * 2**retries)
        log.warning("chunk %s/%d: transient error (%s); retry %d in %.1f s", job_id, idx, exc, retries + 1, countdown)
        raise self.retry(exc=exc, countdown=countdown, max_retries=w.max_retries) from None
