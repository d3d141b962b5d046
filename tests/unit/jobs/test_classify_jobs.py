"""Collection classify as a job kind: its runner writes the top label and probability, and on the Celery
path it is planned into chunks of point ids like any other chunked job, never re-planned as an ingest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.accounts.principal import LOCAL_OWNER
from services.core.errors import InvalidInput
from services.core.settings import WorkerSettings
from services.core.types import PointRecord
from services.db.engine import init_db, make_engine
from services.jobs.chunks import ChunkStore
from services.jobs.coordinator import JobCoordinator
from services.jobs.kinds import ClassifySource
from services.jobs.lifecycle import JobLedger, JobReporter, execute
from services.jobs.records import JobStore
from services.jobs.runners import runner_for
from services.jobs.runners.base import JobContext
from services.sources.items import FailedItem
from tests.unit.query.fakes import MemoryStore, vec

NAMES = ["red", "blue"]


def _source() -> ClassifySource:
    return ClassifySource.encode("color", NAMES, np.stack([vec(n) for n in NAMES]), 100.0, "image")


def _points(n: int) -> list[PointRecord]:
    return [PointRecord(f"p{i:02d}", {"image": vec(NAMES[i % 2])}, {}) for i in range(n)]


class RecordingReporter:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.batches: list[tuple[int, list[str]]] = []
        self.cancel_after = cancel_after

    def progress(
        self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float], skipped: int = 0
    ) -> None:
        self.batches.append((done, [f.item for f in failed]))

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.batches) >= self.cancel_after


def test_the_runner_writes_top_label_and_probability() -> None:
    pts = [*_points(6), PointRecord("no-image", {"text": vec("red")}, {})]
    store = MemoryStore(pts)
    runner = runner_for(_source(), "c", JobContext(store=store))
    assert runner.count() == 7 and not runner.resumable
    reporter = RecordingReporter()
    outcome = runner.run(reporter)
    for i in range(6):
        p = store.points[f"p{i:02d}"].payload
        assert p["label_color"] == NAMES[i % 2] and p["label_color_p"] > 0.9
    assert "label_color" not in store.points["no-image"].payload
    assert reporter.batches == [(6, ["no-image"])]  # the point without the vector is a failed item
    assert (outcome.done, outcome.failed, outcome.cancelled) == (6, 1, False)


def test_a_classify_job_in_the_local_lifecycle(tmp_path: Path) -> None:
    jobs = JobStore(init_db(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")))
    store = MemoryStore(_points(5))
    job_id = jobs.create(LOCAL_OWNER, "mine", "c", _source())
    execute(JobLedger(jobs, job_id), JobContext(store=store))
    job = jobs.get(None, job_id)
    assert (job.state, job.total, job.done, job.failed) == ("done", 5, 5, 0)
    assert job.source.public() == {"kind": "classify", "set": "color", "labels": NAMES, "vector": "image"}

    class Broken(MemoryStore):
        def set_payload(self, name: str, point_id: str, payload: dict[str, object]) -> None:
            raise InvalidInput("store says no")

    job_id = jobs.create(LOCAL_OWNER, "mine", "c", _source())
    execute(JobLedger(jobs, job_id), JobContext(store=Broken(_points(1))))
    job = jobs.get(None, job_id)
    assert (job.state, job.message) == ("failed", "store says no")


@pytest.fixture()
def celery(tmp_path: Path):  # type: ignore[no-untyped-def]
    sessions = init_db(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    jobs = JobStore(sessions)
    sent: list[tuple[str, int]] = []
    settings = WorkerSettings(chunk_size=4, max_queued_chunks=8, requeue_after_s=3600)

    def coordinator(ctx: JobContext) -> JobCoordinator:
        return JobCoordinator(jobs, ChunkStore(sessions), lambda j, i: sent.append((j, i)), settings, ctx)

    return jobs, sent, coordinator


def test_a_queued_classify_job_swept_in_celery_mode_is_planned_not_failed_as_an_ingest(celery) -> None:  # type: ignore[no-untyped-def]
    """The sweeper bug: a classify job waiting in ``queued`` past ``requeue_after_s`` was re-planned as an
    ingest and failed ("the job's source names no path") while its labels were still written."""
    jobs, sent, coordinator = celery
    store = MemoryStore(_points(10))
    coord = coordinator(JobContext(store=store, shared_store=True))  # server mode: workers open the store
    job_id = jobs.create(LOCAL_OWNER, "mine", "c", _source())
    coord.sweep(replan_queued_older_than_s=0.0)  # it has waited in queued longer than requeue_after_s
    job = jobs.get(None, job_id)
    assert job.state == "running", job.message
    assert (job.total, sent) == (10, [(job_id, 0), (job_id, 1), (job_id, 2)])  # chunks of 4, 4, 2 point ids
    worker = JobContext(store=store, shared_store=True)
    for _, idx in list(sent):  # what a worker does with each chunk (DirectBackend, server mode)
        work = coord.start_chunk(job_id, idx)
        assert work is not None and work.store_name == "c"
        outcome = runner_for(work.source, work.store_name, worker).run(JobReporter(jobs, job_id, idx), work.spec)
        coord.finish_chunk(job_id, idx, outcome.entries)
    job = jobs.get(None, job_id)
    assert (job.state, job.done, job.failed, job.message) == ("done", 10, 0, None)
    assert all(p.payload["label_color"] in NAMES for p in store.points.values())


def test_with_an_embedded_store_the_sweeper_leaves_classify_to_the_api_process(celery) -> None:  # type: ignore[no-untyped-def]
    jobs, sent, coordinator = celery
    coord = coordinator(JobContext(store=MemoryStore(_points(3)), shared_store=False))
    job_id = jobs.create(LOCAL_OWNER, "mine", "c", _source())
    assert not coord.chunked(job_id)
    coord.sweep(replan_queued_older_than_s=0.0)
    assert (jobs.state(job_id), sent) == ("queued", [])  # the API's local queue runs it


def test_a_chunk_of_deleted_points_records_them(celery) -> None:  # type: ignore[no-untyped-def]
    store = MemoryStore(_points(2))
    runner = runner_for(_source(), "c", JobContext(store=store, shared_store=True))
    reporter = RecordingReporter()
    outcome = runner.run(reporter, {"ids": ["p00", "gone", "p01"]})
    assert (outcome.done, outcome.failed) == (2, 1) and reporter.batches == [(2, ["gone"])]
