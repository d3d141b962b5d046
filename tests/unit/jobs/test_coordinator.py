"""The job coordinator on a real SQLite database with a recording sender: bounded queueing, exactly-once
counting under redelivery, resends of lost chunks, and giving up on a chunk that keeps killing workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.accounts.principal import LOCAL_OWNER
from services.core.settings import WorkerSettings
from services.db.engine import init_db, make_engine
from services.jobs.chunks import ChunkStore
from services.jobs.coordinator import JobCoordinator
from services.jobs.kinds import PathSource
from services.jobs.records import JobStore
from services.sources.grant import ReadGrant
from services.sources.items import FailedItem


@pytest.fixture()
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    sessions = init_db(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    jobs = JobStore(sessions)
    sent: list[tuple[str, int]] = []
    settings = WorkerSettings(chunk_size=3, max_queued_chunks=2, max_attempts=2, requeue_after_s=3600)
    coord = JobCoordinator(jobs, ChunkStore(sessions), lambda j, i: sent.append((j, i)), settings)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(10):
        (folder / f"{i:02d}.png").write_bytes(b"x")
    source = PathSource(path=str(folder), target=str(folder), grant=ReadGrant((str(folder),)))
    job_id = jobs.create(LOCAL_OWNER, "c", "c", source)
    return coord, jobs, sent, job_id


def test_plan_queues_a_bounded_number_and_counts_batches_once(setup) -> None:  # type: ignore[no-untyped-def]
    coord, jobs, sent, job_id = setup
    coord.plan(job_id)
    job = jobs.get(None, job_id)
    assert (job.state, job.total) == ("running", 10)
    assert sent == [(job_id, 0), (job_id, 1)]  # 4 chunks planned, 2 on the queue
    work = coord.start_chunk(job_id, 0)
    assert work is not None and len(work.spec["files"]) == 3 and work.store_name == "c"
    for _ in range(2):  # a redelivered task replays its batch: counted once
        coord.record_batch(job_id, 0, 0, 2, [FailedItem("00.png", "corrupt")], {"embed": 0.5})
    job = jobs.get(None, job_id)
    assert (job.done, job.failed, job.timings["embed_seconds"]) == (2, 1, 0.5)
    coord.finish_chunk(job_id, 0, entries=3)
    coord.finish_chunk(job_id, 0, entries=3)  # a duplicate delivery finishing again changes nothing
    assert sent[2:] == [(job_id, 2)]
    assert coord.start_chunk(job_id, 0) is None  # finished chunks are not run again


def test_lost_messages_are_resent_and_a_poison_chunk_is_given_up(setup) -> None:  # type: ignore[no-untyped-def]
    coord, jobs, sent, job_id = setup
    coord.plan(job_id)
    coord.settings.requeue_after_s = 0.0  # everything in flight counts as silent
    sent.clear()
    coord.sweep()
    assert sorted(sent) == [(job_id, 0), (job_id, 1)]  # lost messages (Redis restart): sent again
    for _ in range(2):
        assert coord.start_chunk(job_id, 1) is not None  # two deliveries, each worker died
    coord.record_batch(job_id, 1, 0, 1, [], {})  # one item of it was counted before
    coord.sweep()  # attempts exhausted: the rest of the chunk is recorded as failed, once
    coord.sweep()
    job = jobs.get(None, job_id)
    assert (job.done, job.failed) == (1, 2)
    assert any("not processed" in e.reason and "kept dying" in e.reason for e in job.errors)
    for idx in (0, 2, 3):
        if coord.start_chunk(job_id, idx) is not None:
            n = 1 if idx == 3 else 3
            coord.record_batch(job_id, idx, 0, n, [], {})
            coord.finish_chunk(job_id, idx, entries=n)
    job = jobs.get(None, job_id)
    assert job.state == "done" and job.done + job.failed == job.total == 10
    assert "1 chunk(s) could not be processed" in (job.message or "")


def test_cancel_stops_claims_and_resume_continues(setup) -> None:  # type: ignore[no-untyped-def]
    coord, jobs, sent, job_id = setup
    coord.plan(job_id)
    assert coord.start_chunk(job_id, 0) is not None
    jobs.cancel(LOCAL_OWNER, job_id)
    assert coord.record_batch(job_id, 0, 0, 3, [], {}) is True  # the worker learns it was cancelled
    assert coord.start_chunk(job_id, 1) is None
    assert jobs.reopen(job_id)
    sent.clear()
    coord.resume(job_id)
    assert jobs.state(job_id) == "running" and sorted(sent) == [(job_id, 0), (job_id, 1)]
    assert jobs.get(None, job_id).done == 3  # counted before the cancel, not again


def test_local_queue_marks_interrupted_jobs_resumable(setup) -> None:  # type: ignore[no-untyped-def]
    from services.jobs.local import LocalJobQueue
    from services.jobs.runners.base import JobContext

    _, jobs, _, job_id = setup
    jobs.start(job_id)  # a process died while running it
    queue = LocalJobQueue(JobContext(), jobs)
    try:
        assert queue.recover() == [job_id]
    finally:
        queue.shutdown()
    job = jobs.get(None, job_id)
    assert job.state == "failed" and "resume" in (job.message or "")
    assert jobs.reopen(job_id) and jobs.state(job_id) == "queued"
