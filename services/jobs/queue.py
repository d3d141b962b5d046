"""Where jobs run: in-process (embedded, no Redis) or on Celery workers (``SIGNIFIER_REDIS_URL``).

Both queues take the same calls from the API, for every job kind; ``build_queue`` picks one from settings.
On Celery a job is planned into chunks for workers unless its runner says it is not ``chunked`` (uploads,
whose files are in this server's data dir; classify on an embedded store, which only this process may
open): those run in this process's local queue.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from services.core.settings import Settings
from services.jobs.chunks import ChunkStore
from services.jobs.coordinator import JobCoordinator, SendChunk
from services.jobs.local import LocalJobQueue
from services.jobs.records import TERMINAL, JobStore
from services.jobs.runners.base import JobContext

log = logging.getLogger(__name__)


class JobQueue(Protocol):
    def submit(self, job_id: str) -> None:
        """Start a queued job in the background (its record says what it runs, and into which collection)."""

    def resume(self, job_id: str) -> None:
        """Continue a reopened job; what is stored is skipped, what was counted is not counted again."""

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the job is in a terminal state (tests, the CLI)."""

    def shutdown(self) -> None: ...


class CeleryJobQueue:
    """Plans jobs into chunks (in a background thread), sends chunk tasks, and sweeps for lost ones."""

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        chunks: ChunkStore,
        local: LocalJobQueue,
        send: SendChunk | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.local = local
        if send is None:
            from services.jobs.celery_client import chunk_sender, make_celery

            self._celery = make_celery(settings)
            send = chunk_sender(self._celery)
        self.coordinator = JobCoordinator(jobs, chunks, send, settings.workers, local.ctx)
        self._planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan")
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        self._sweeper.start()

    def submit(self, job_id: str) -> None:
        if self.coordinator.chunked(job_id):
            self._planner.submit(self.coordinator.plan, job_id)
        else:
            self.local.submit(job_id)

    def resume(self, job_id: str) -> None:
        if self.coordinator.chunked(job_id):
            self._planner.submit(self.coordinator.resume, job_id)
        else:
            self.local.resume(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.jobs.state(job_id) not in TERMINAL:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
            time.sleep(0.2)

    def _sweep_loop(self) -> None:
        # The first sweep re-plans every queued job at once: a restarted API picks up what it was planning.
        replan_after: float = 0.0
        while not self._stop.wait(self.settings.workers.sweep_interval_s if replan_after else 0.5):
            try:
                self.coordinator.sweep(replan_queued_older_than_s=replan_after)
            except Exception:
                log.exception("job sweep failed; trying again in %.0f s", self.settings.workers.sweep_interval_s)
            replan_after = self.settings.workers.requeue_after_s

    def shutdown(self) -> None:
        self._stop.set()
        self._planner.shutdown(wait=True, cancel_futures=True)
        self._sweeper.join(timeout=10)
        self.local.shutdown()


def build_queue(settings: Settings, ctx: JobContext, jobs: JobStore) -> LocalJobQueue | CeleryJobQueue:
    """Celery when ``settings.redis_url`` is set, else the in-process queue (jobs a crash interrupted are
    marked failed, ready to resume). ``ctx``: this process's pipeline and store, for the jobs it runs."""
    local = LocalJobQueue(ctx, jobs)
    if settings.redis_url:
        return CeleryJobQueue(settings, jobs, ChunkStore(jobs.sessions), local)
    if settings.mode == "embedded" and not settings.database_url:
        # This process holds the data dir's lock, so no other process can be running these jobs.
        local.recover()
    return local
