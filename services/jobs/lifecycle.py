"""One lifecycle for every run of a job, whoever distributes it: cancel check → start → total → run → finish.

The API's local queue runs a whole job (``JobLedger``: the job's record); a Celery worker runs one chunk
(``workers/tasks.py`` ``ChunkLedger``: the chunk's record, through its backend). Both call ``execute``,
which opens the kind's runner and maps every outcome onto the ledger; nothing escapes it but the
transient errors a distributor retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from services.catalog.collections import recorded_model
from services.catalog.model_check import mismatch
from services.core.errors import SignifierError
from services.encoders.fingerprint import ModelFingerprint, same_space
from services.ingest.runner import Reporter
from services.jobs.kinds import JobSource
from services.jobs.records import JobStore
from services.jobs.runners import runner_for
from services.jobs.runners.base import ChunkSpec, JobContext, JobRunner, RunOutcome
from services.sources.items import FailedItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    """What one run covers: the job's source, the store collection it writes to, the chunk (None: all)."""

    job_id: str
    source: JobSource
    store_name: str
    spec: ChunkSpec | None = None
    collection: str = ""
    model: ModelFingerprint | None = None  # what the collection records; None: not known (not checked)


class Ledger(Protocol):
    """Where one run's bookkeeping goes."""

    job_id: str

    def begin(self) -> Assignment | None:
        """Claim the run; None: nothing to do (cancelled, already finished, deleted)."""

    def started(self, runner: JobRunner) -> None:
        """The runner is open (a whole job records its total here)."""

    def reporter(self) -> Reporter: ...

    def finish(self, outcome: RunOutcome) -> None: ...

    def fail(self, reason: str) -> None:
        """The run failed as a whole (``reason``: what a person can act on)."""


def failure_reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, SignifierError) else f"internal error: {type(exc).__name__}: {exc}"


def execute(
    ledger: Ledger, ctx: JobContext, transient: Callable[[BaseException], bool] = lambda _: False
) -> RunOutcome | None:
    """Run what the ledger assigns with the kind's runner; None if nothing ran or the run failed.

    Errors end in the ledger (``fail``) except those ``transient`` says a retry may cure: they propagate."""
    try:
        work = ledger.begin()
        if work is None:
            return None
        runner = runner_for(work.source, work.store_name, ctx)
        check_model(work, runner, ctx)
        ledger.started(runner)
        outcome = runner.run(ledger.reporter(), work.spec)
    except Exception as exc:
        if transient(exc):
            raise
        if not isinstance(exc, SignifierError):
            log.exception("job %s crashed", ledger.job_id)
        ledger.fail(failure_reason(exc))
        return None
    ledger.finish(outcome)
    return outcome


def check_model(work: Assignment, runner: JobRunner, ctx: JobContext) -> None:
    """``ModelMismatch`` if the run would embed with another model than the collection's (a worker started
    with another SIGNIFIER_MODEL, or a job resumed by a server restarted with one): its items then fail
    with that reason, and nothing is stored."""
    if not runner.embeds or work.model is None or ctx.model is None:
        return
    running = ctx.model.fingerprint
    if not same_space(work.model, running):
        raise mismatch(work.collection or work.store_name, work.model, running)


class JobReporter:
    """Writes a run's batches into the job record; the job's state tells whether it was cancelled.

    Batches are counted by key (``<chunk>:<batch>``), so re-running a job (resume, restart) counts each
    batch once.
    """

    def __init__(self, jobs: JobStore, job_id: str, chunk: int = 0) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.chunk = chunk

    def progress(
        self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float], skipped: int = 0
    ) -> None:
        self.jobs.record_batch(
            self.job_id, f"{self.chunk}:{batch}", done, failed, chunk=self.chunk, timings=timings, skipped=skipped
        )

    def cancelled(self) -> bool:
        return self.jobs.state(self.job_id) == "cancelled"


class JobLedger:
    """A whole job run in this process (the local queue): its record moves queued → running → terminal."""

    def __init__(self, jobs: JobStore, job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self._started = time.perf_counter()
        self._entries = 0

    def begin(self) -> Assignment | None:
        if self.jobs.state(self.job_id) == "cancelled":
            return None
        self.jobs.start(self.job_id)
        job = self.jobs.get(None, self.job_id, max_errors=0)
        recorded = recorded_model(self.jobs.sessions, job.store_name)
        model = recorded[1] if recorded else None
        return Assignment(self.job_id, job.source, job.store_name, collection=job.collection, model=model)

    def started(self, runner: JobRunner) -> None:
        self.jobs.set_total(self.job_id, runner.count())

    def reporter(self) -> Reporter:
        return JobReporter(self.jobs, self.job_id)

    def finish(self, outcome: RunOutcome) -> None:
        self._entries = outcome.entries
        if not outcome.cancelled:
            # What the run really read: a video's frames are known only once it is decoded (count estimates).
            # A job whose progress counts steps rather than entries (the map: reading, then layout) keeps those.
            job = self.jobs.get(None, self.job_id, max_errors=0)
            self.jobs.set_total(self.job_id, max(outcome.entries, job.done + job.failed))
        self.jobs.finish(self.job_id, "cancelled" if outcome.cancelled else "done", timings=self._timings())

    def fail(self, reason: str) -> None:
        self.jobs.finish(self.job_id, "failed", message=reason, timings=self._timings())

    def _timings(self) -> dict[str, float]:
        seconds = time.perf_counter() - self._started
        out = {"total_seconds": round(seconds, 4)}
        if seconds > 0 and self._entries:
            out["items_per_second"] = round(self._entries / seconds, 2)
        return out
