"""In-process job execution for embedded mode: a small thread pool runs ingestion jobs in the background."""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from services.core.errors import SignifierError
from services.ingest.runner import IngestPipeline, IngestResult
from services.jobs.records import ItemError, JobStore
from services.sources.items import FailedItem
from services.sources.readers import open_source

log = logging.getLogger(__name__)


class JobReporter:
    """Writes pipeline progress into the job record; the job's state tells whether it was cancelled.

    Batches are counted by key (``<chunk>:<batch>``), so re-running a job (resume, restart) counts each
    batch once.
    """

    def __init__(self, jobs: JobStore, job_id: str, chunk: int = 0) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.chunk = chunk

    def progress(self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float]) -> None:
        errors = [ItemError(f.source, f.reason) for f in failed]
        self.jobs.record_batch(
            self.job_id, f"{self.chunk}:{batch}", done, errors, chunk=self.chunk, timings=timings
        )

    def cancelled(self) -> bool:
        return self.jobs.state(self.job_id) == "cancelled"


def run_job(pipeline: IngestPipeline, jobs: JobStore, job_id: str, collection: str, source: dict[str, Any]) -> None:
    """Run one job to a terminal state; never raises (failures end in the job record)."""
    started = time.perf_counter()
    result = IngestResult()
    try:
        if jobs.state(job_id) == "cancelled":
            return
        jobs.start(job_id)
        reader = open_source(source, pipeline.limits)
        jobs.set_total(job_id, reader.count())
        result = pipeline.run(collection, iter(reader), JobReporter(jobs, job_id))
    except SignifierError as exc:
        jobs.finish(job_id, "failed", message=exc.message, timings=_timings(result, started))
        return
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        jobs.finish(job_id, "failed", message=f"internal error: {type(exc).__name__}: {exc}")
        return
    finally:
        if source.get("cleanup"):
            shutil.rmtree(source["path"], ignore_errors=True)
    jobs.finish(job_id, "cancelled" if result.cancelled else "done", timings=_timings(result, started))


def _timings(result: IngestResult, started: float) -> dict[str, float]:
    seconds = time.perf_counter() - started
    out = {"total_seconds": round(seconds, 4)}
    if seconds > 0 and result.entries:
        out["items_per_second"] = round(result.entries / seconds, 2)
    return out


class LocalJobQueue:
    """Runs submitted jobs on a background thread (one at a time: the model and store are shared)."""

    def __init__(self, pipeline: IngestPipeline, jobs: JobStore, workers: int = 1) -> None:
        self.pipeline = pipeline
        self.jobs = jobs
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self._futures: dict[str, Future[None]] = {}

    def submit(self, job_id: str, collection: str, source: dict[str, Any]) -> None:
        """Run a job in the background. ``collection``: the store's name for it (kept in the source)."""
        source = remember_store(self.jobs, job_id, collection, source)
        self._futures[job_id] = self._pool.submit(run_job, self.pipeline, self.jobs, job_id, collection, source)

    def resume(self, job_id: str, collection: str, source: dict[str, Any]) -> None:
        """Run a reopened job again: stored items are skipped and counted batches are not counted twice."""
        self.submit(job_id, collection, source)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        fut = self._futures.get(job_id)
        if fut is not None:
            fut.result(timeout=timeout)

    def recover(self) -> list[str]:
        """Mark jobs a previous process left queued or running (it stopped or crashed) as failed, resumable.

        Not re-run automatically: a short CLI command must not inherit a long job. ``POST /v1/jobs/{id}/resume``
        continues one; stored items are skipped and counted batches are not counted again.
        """
        interrupted = []
        for job_id, _, source in self.jobs.unfinished():
            message = "interrupted: the process running it stopped; " + (
                f"POST /v1/jobs/{job_id}/resume continues it"
                if resumable(source)
                else "start it again (only ingestion jobs can be resumed)"
            )
            self.jobs.finish(job_id, "failed", message=message)
            interrupted.append(job_id)
        return interrupted

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def resumable(source: dict[str, Any]) -> bool:
    """Only ingestion jobs resume through the pipeline; others (collection classify) are started again."""
    return source.get("kind") != "classify"


def remember_store(jobs: JobStore, job_id: str, collection: str, source: dict[str, Any]) -> dict[str, Any]:
    """Record in the job's source the store collection its points go to (a resumed job needs it)."""
    if source.get("store") == collection:
        return source
    source = {**source, "store": collection}
    jobs.set_source(job_id, source)
    return source


def upload_dir(data_dir: Path, job_id: str) -> Path:
    d = data_dir / "uploads" / job_id
    d.mkdir(parents=True, exist_ok=True)
    return d
