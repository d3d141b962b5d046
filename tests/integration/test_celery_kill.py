"""Crash tests with real processes: SIGKILL a worker, restart Redis, SIGKILL the API — each in the middle
of a job — and the job still completes with every accepted item stored exactly once:
points == distinct images and done + failed == total, with the bad rows failed for their own reasons.
A film split into time ranges survives a worker killed in its middle the same way: every sampled frame
is stored once, under its content-and-time id.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.celery_data import Dataset, make_dataset, test_model
from tests.integration.celery_support import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ITEMS = 400
# Videos: a frame every 0.25 s, time ranges of 6 s (so a 72 s film is 12 chunks), no frame dropped as
# a near-duplicate (the grain makes every frame differ), so the frames stored are exactly the grid.
FILM_S, SCENE_S, STEP_S, CHUNK_S = 72, 3, 0.25, 6
VIDEO = {
    "SIGNIFIER_INGEST__VIDEO__INTERVAL_S": str(STEP_S),
    "SIGNIFIER_INGEST__VIDEO__CHUNK_S": str(CHUNK_S),
    "SIGNIFIER_INGEST__VIDEO__DEDUPE_COSINE": "1.0",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("kill"), test_model(), **VIDEO) as c:
        c.start_worker()
        c.start_worker()
        yield c


def _start(cluster: Cluster, tmp: Path, name: str, seed: int) -> tuple[str, Dataset]:
    data = make_dataset(tmp, ITEMS, seed=seed)
    cluster.call("POST", "/v1/collections", {"name": name}, expect=201)
    job_id = cluster.call("POST", f"/v1/collections/{name}/ingest", {"path": str(data.manifest)}, expect=202)["job_id"]
    cluster.wait_progress(job_id, 48)
    return job_id, data


def _mid_job(cluster: Cluster, job_id: str, data: Dataset) -> None:
    job = cluster.job(job_id)
    assert job["state"] == "running" and job["done"] + job["failed"] < data.total, (
        f"the job was over before the crash ({job['done']}+{job['failed']} of {data.total}); use more items"
    )


def _check_exactly_once(cluster: Cluster, name: str, job_id: str, data: Dataset, timeout: float = 240) -> None:
    job = cluster.wait_job(job_id, timeout=timeout)
    assert job["state"] == "done", job
    assert (job["total"], job["done"], job["failed"]) == (data.total, data.ok, data.bad), job
    assert {Path(e["item"]).name for e in job["errors"]} == {"truncated.jpg", "missing.png"}, job["errors"]
    assert cluster.points(name) == data.distinct, cluster.logs_tail()


def test_sigkill_a_worker_mid_job(cluster: Cluster, tmp_path: Path) -> None:
    job_id, data = _start(cluster, tmp_path, "killworker", seed=101)
    victim = next(w for w in cluster.workers if w.alive())
    victim.kill()  # the worker and its pool process, with a chunk in hand and its message unacknowledged
    _mid_job(cluster, job_id, data)
    cluster.start_worker()  # a replacement (the surviving worker carries on meanwhile)
    _check_exactly_once(cluster, "killworker", job_id, data)


def test_sigkill_the_api_mid_job(cluster: Cluster, tmp_path: Path) -> None:
    job_id, data = _start(cluster, tmp_path, "killapi", seed=303)
    cluster.api.kill()  # the single writer dies: workers retry their calls until it is back
    time.sleep(1.0)
    cluster.start_api()
    _mid_job(cluster, job_id, data)
    _check_exactly_once(cluster, "killapi", job_id, data)


def _film(folder: Path) -> Path:
    """FILM_S seconds at 12 fps: scenes of SCENE_S seconds, each on another background than the last (hard
    cuts on the sampling grid), with grain and a pan."""
    from services.shapes.film import Scene, write_film
    from services.shapes.world import BACKGROUNDS, COLORS, SHAPES, ShapeSpec

    scenes = [
        Scene(ShapeSpec(COLORS[k % 6], SHAPES[k % 4], "large", BACKGROUNDS[k % 4]), SCENE_S, None)
        for k in range(FILM_S // SCENE_S)
    ]
    folder.mkdir()
    return write_film(folder / "film.mp4", scenes, fps=12, seed=5, noise=6.0)


def test_sigkill_a_worker_mid_film(cluster: Cluster, tmp_path: Path) -> None:
    from services.ingest.ids import point_id
    from services.ingest.video import frame_key, video_id

    film = _film(tmp_path / "films")
    sha = hashlib.sha256(film.read_bytes()).hexdigest()
    cluster.call("POST", "/v1/collections", {"name": "killfilm"}, expect=201)
    job_id = cluster.call("POST", "/v1/collections/killfilm/ingest", {"path": str(film.parent)}, expect=202)["job_id"]
    frames = round(FILM_S / STEP_S)
    cluster.wait_progress(job_id, round(3 * CHUNK_S / STEP_S))  # a few time ranges in
    victim = next(w for w in cluster.workers if w.alive())
    victim.kill()  # with a time range of the film in hand, its message unacknowledged
    job = cluster.job(job_id)
    assert job["state"] == "running" and job["done"] < frames, f"the film was over before the kill: {job}"
    cluster.start_worker()

    job = cluster.wait_job(job_id, timeout=240)
    assert job["state"] == "done", job
    assert (job["total"], job["done"], job["failed"]) == (frames, frames, 0), job
    assert cluster.points("killfilm") == frames, cluster.logs_tail()
    # The video's record names the collection's store (the id namespace); every grid frame is there once.
    (record,) = (cluster.tmp / "data" / "videos").glob(f"*/{video_id(sha)}.json")
    store = record.parent.name
    assert store.startswith("killfilm-")
    for k in range(frames):
        t = k * STEP_S
        point = cluster.call("GET", f"/v1/collections/killfilm/points/{point_id(store, frame_key(sha, t))}", expect=200)
        payload = point["payload"]
        assert (payload["timestamp"], payload["video_id"]) == (t, video_id(sha)), payload
        assert payload["shot"] == int(t // SCENE_S), payload  # every time range numbers shots alike


# Last in the module: when it fails, its stuck workers must not take the other crash tests down with it.
def test_restart_redis_mid_job(cluster: Cluster, tmp_path: Path) -> None:
    job_id, data = _start(cluster, tmp_path, "killredis", seed=202)
    cluster.redis.stop()  # no persistence: every queued and unacknowledged message is gone
    _mid_job(cluster, job_id, data)
    # Down for longer than a chunk takes, so the workers finish their chunks while Redis is away and their
    # late acks fail ("Couldn't ack ... ConnectionError"). Unpatched kombu 5.7 then keeps the finished
    # message's prefetch slot and the worker never consumes again; workers/broker.py releases it.
    time.sleep(4.0)
    cluster.redis.start()
    _check_exactly_once(cluster, "killredis", job_id, data, timeout=90)
