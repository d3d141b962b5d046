"""The chunk task on a server-mode worker (``DirectBackend``): it dispatches on the job's kind, so a
collection-classify chunk labels its points like an ingest chunk stores them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from services.accounts.principal import LOCAL_OWNER
from services.core.settings import WorkerSettings
from services.core.types import PointRecord
from services.db.engine import init_db, make_engine
from services.jobs.chunks import ChunkStore
from services.jobs.coordinator import JobCoordinator
from services.jobs.kinds import ClassifySource
from services.jobs.records import JobStore
from services.jobs.runners.base import JobContext
from services.vectorstore.thumbnails import ThumbnailStore
from tests.unit.query.fakes import MemoryStore, vec
from workers.backends import DirectBackend
from workers.tasks import run_chunk


def test_a_classify_chunk_runs_on_a_server_mode_worker(tmp_path: Path) -> None:
    sessions = init_db(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    jobs = JobStore(sessions)
    store = MemoryStore([PointRecord(f"p{i}", {"image": vec("red" if i % 2 else "blue")}, {}) for i in range(5)])
    sent: list[tuple[str, int]] = []
    send = lambda j, i: sent.append((j, i))  # noqa: E731
    planner = JobContext(store=store, shared_store=True)
    coord = JobCoordinator(jobs, ChunkStore(sessions), send, WorkerSettings(chunk_size=3), planner)
    source = ClassifySource.encode("color", ["red", "blue"], np.stack([vec("red"), vec("blue")]), 100.0, "image")
    job_id = jobs.create(LOCAL_OWNER, "mine", "c", source)
    coord.plan(job_id)
    ctx = SimpleNamespace(
        backend=DirectBackend(coord, store, ThumbnailStore(tmp_path / "thumbs")), pipeline=None, model=None
    )
    assert [run_chunk(ctx, j, i) for j, i in list(sent)] == [  # type: ignore[arg-type]
        "done: 3 stored (0 already there), 0 failed",
        "done: 2 stored (0 already there), 0 failed",
    ]
    job = jobs.get(None, job_id)
    assert (job.state, job.total, job.done) == ("done", 5, 5)
    assert {p.id: p.payload["label_color"] for p in store.points.values()}["p1"] == "red"
