"""Celery tasks: thin wrappers that validate, call the pipeline, report.

One task ingests one chunk of a job. It may run more than once (a redelivery after a crash, a resend
by the sweeper): point ids come from content and batches are counted by key, so a second run stores
and counts nothing twice. Transient failures (API, store or network down) are retried with backoff;
permanent ones end the chunk as failed with the reason recorded against its items.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from services.core.errors import SignifierError
from services.jobs.celery_client import CHUNK_TASK
from services.sources.items import FailedItem
from services.sources.readers import open_source
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

    def progress(self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float]) -> None:
        self._cancelled = self.backend.record_batch(self.job_id, self.idx, batch, done, failed, timings)

    def cancelled(self) -> bool:
        return self._cancelled


def run_chunk(ctx: WorkerContext, job_id: str, idx: int, retry: bool = False) -> str:
    """Ingest one chunk; returns what happened. Transient errors propagate (the task retries them)."""
    work = ctx.backend.start_chunk(job_id, idx, retry)
    if work is None:
        return "skipped"
    try:
        entries = open_source(work.source, ctx.settings.limits).read_chunk(work.spec)
        result = ctx.pipeline.run(work.collection, entries, ChunkReporter(ctx.backend, job_id, idx))
    except Exception as exc:
        if is_transient(exc):
            raise
        reason = exc.message if isinstance(exc, SignifierError) else f"internal error: {type(exc).__name__}: {exc}"
        log.warning("chunk %s/%d failed: %s", job_id, idx, reason)
        ctx.backend.finish_chunk(job_id, idx, 0, error=reason)
        return "failed"
    if result.cancelled:
        return "cancelled"
    ctx.backend.finish_chunk(job_id, idx, result.entries)
    return f"done: {result.done} stored ({result.skipped} already there), {result.failed} failed"


@shared_task(bind=True, name=CHUNK_TASK, acks_late=True, reject_on_worker_lost=True)
def ingest_chunk(self: Task, job_id: str, idx: int) -> str:  # type: ignore[type-arg]
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


__all__: list[Any] = ["ChunkReporter", "ingest_chunk", "run_chunk"]
