"""In-process job execution: a small thread pool runs jobs in the background (embedded mode, and the jobs
the Celery path keeps in the API process: uploads, and classify on an embedded store)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from services.core.errors import SignifierError
from services.jobs.lifecycle import JobLedger, execute
from services.jobs.records import JobStore
from services.jobs.runners import resumable
from services.jobs.runners.base import JobContext


class LocalJobQueue:
    """Runs submitted jobs on a background thread (one at a time: the model and store are shared)."""

    def __init__(self, ctx: JobContext, jobs: JobStore, workers: int = 1) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jobs")
        self._futures: dict[str, Future[object]] = {}

    def submit(self, job_id: str) -> None:
        """Run a queued job in the background (its record says what it runs and where its points go)."""
        self._futures[job_id] = self._pool.submit(execute, JobLedger(self.jobs, job_id), self.ctx)

    def resume(self, job_id: str) -> None:
        """Run a reopened job again: stored items are skipped and counted batches are not counted twice."""
        self.submit(job_id)

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
        for job_id in self.jobs.unfinished():
            message = "interrupted: the process running it stopped; " + (
                f"POST /v1/jobs/{job_id}/resume continues it"
                if self.resumable(job_id)
                else "start it again (only ingestion jobs can be resumed)"
            )
            self.jobs.finish(job_id, "failed", message=message)
            interrupted.append(job_id)
        return interrupted

    def resumable(self, job_id: str) -> bool:
        try:
            return resumable(self.jobs.get(None, job_id, max_errors=0).source)
        except SignifierError:
            return False  # a record this version cannot run: submitting it again is the only way

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def upload_dir(data_dir: Path, job_id: str) -> Path:
    d = data_dir / "uploads" / job_id
    d.mkdir(parents=True, exist_ok=True)
    return d
