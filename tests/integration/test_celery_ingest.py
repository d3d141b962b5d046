"""The Celery path with real processes: redis-server, the embedded API (single writer), two workers.

Workers decode and embed, then hand batches to the API's internal route; job counters are exact and
re-ingesting or resuming stores nothing twice. Sources: a JSONL manifest with bad rows, WebDataset
shards (one broken), and LAION-style URLs served from 127.0.0.1 (allowed by the fetch allowlist).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image

from tests.integration.celery_data import make_dataset, make_shards, test_model
from tests.integration.celery_support import TOKEN, Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("celery")
    with Cluster(tmp, test_model(), SIGNIFIER_FETCH__ALLOW_NETWORKS='["127.0.0.1/32"]') as c:
        c.start_worker()
        c.start_worker()
        yield c


def test_manifest_through_two_workers_counts_exactly_and_reingest_stores_nothing_twice(
    cluster: Cluster, tmp_path: Path
) -> None:
    data = make_dataset(tmp_path, 160)
    cluster.call("POST", "/v1/collections", {"name": "celery1"}, expect=201)
    job_id = cluster.call("POST", "/v1/collections/celery1/ingest", {"path": str(data.manifest)}, expect=202)["job_id"]
    job = cluster.wait_job(job_id)
    assert job["state"] == "done", job
    assert (job["total"], job["done"], job["failed"]) == (data.total, data.ok, data.bad), job
    reasons = {Path(e["item"]).name: e["reason"] for e in job["errors"]}
    assert "truncated" in reasons["truncated.jpg"] and "file not found" in reasons["missing.png"]
    assert cluster.points("celery1") == data.distinct
    t = job["timings"]
    assert t["batches"] >= data.total // 8 and t["embed_seconds"] > 0 and t["decode_seconds"] > 0, t
    assert t["total_seconds"] > 0 and t["items_per_second"] > 0
    listed = cluster.call("GET", "/v1/jobs?collection=celery1", expect=200)["jobs"]
    assert [j["job_id"] for j in listed] == [job_id]

    again = cluster.call("POST", "/v1/collections/celery1/ingest", {"path": str(data.manifest)}, expect=202)["job_id"]
    job2 = cluster.wait_job(again)
    assert (job2["state"], job2["done"], job2["failed"]) == ("done", data.ok, data.bad)
    assert job2["skipped"] == data.ok, "a re-ingest through workers stores nothing new and says so"
    assert cluster.points("celery1") == data.distinct


def test_cancel_then_resume_skips_what_is_stored_and_counts_once(cluster: Cluster, tmp_path: Path) -> None:
    data = make_dataset(tmp_path, 320, seed=77)
    cluster.call("POST", "/v1/collections", {"name": "celery2"}, expect=201)
    job_id = cluster.call("POST", "/v1/collections/celery2/ingest", {"path": str(data.manifest)}, expect=202)["job_id"]
    cluster.wait_progress(job_id, 40)
    cancelled = cluster.call("DELETE", f"/v1/jobs/{job_id}", expect=200)
    assert cancelled["state"] == "cancelled"
    job = cluster.wait_job(job_id, states=("cancelled",))
    assert job["done"] + job["failed"] < data.total, "the job ended before the cancel; make it bigger"
    bad = cluster.http.post(f"/v1/jobs/{job_id}/resume")
    assert bad.status_code == 202, bad.text
    job = cluster.wait_job(job_id)
    assert job["state"] == "done", job
    assert (job["total"], job["done"], job["failed"]) == (data.total, data.ok, data.bad), job
    assert cluster.points("celery2") == data.distinct
    again = cluster.http.post(f"/v1/jobs/{job_id}/resume")
    assert again.status_code == 422 and "only cancelled or failed" in again.json()["detail"]["message"]


def test_webdataset_shards_with_a_broken_one(cluster: Cluster, tmp_path: Path) -> None:
    shards = make_shards(tmp_path, shards=3, per_shard=20)
    cluster.call("POST", "/v1/collections", {"name": "wds"}, expect=201)
    body = {"source": {"kind": "webdataset", "path": str(tmp_path / "shards" / "{00000..00003}.tar")}}
    job_id = cluster.call("POST", "/v1/collections/wds/ingest", body, expect=202)["job_id"]
    job = cluster.wait_job(job_id)
    assert job["state"] == "done", job
    # 3 good shards of 20 samples, plus a shard cut in the middle of its 4th sample's image.
    assert (job["done"], job["failed"]) == (shards.ok, shards.bad), job
    assert job["total"] == job["done"] + job["failed"]
    assert any("broken tar" in e["reason"] for e in job["errors"]), job["errors"]
    assert cluster.points("wds") == shards.ok
    hit = cluster.call("POST", "/v1/collections/wds/search", {"expression": '"a red circle"', "limit": 1}, expect=200)
    src = hit["hits"][0]["payload"]["source"]
    assert ".tar#" in src and hit["hits"][0]["payload"]["url"].startswith("https://example.invalid/")


class _Images(BaseHTTPRequestHandler):
    images: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        data = self.images.get(self.path)
        if data is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_laion_style_url_manifest_fetches_from_allowed_host_and_refuses_private_ones(
    cluster: Cluster, tmp_path: Path
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        colors = ["red", "green", "blue", "yellow", "purple"]
        for c in colors:
            buf = io.BytesIO()
            Image.new("RGB", (48, 48), c).save(buf, format="PNG")
            _Images.images[f"/{c}.png"] = buf.getvalue()
        rows = [{"URL": f"http://127.0.0.1:{port}/{c}.png", "TEXT": f"a {c} square", "aesthetic": 5.5} for c in colors]
        rows += [
            {"URL": f"http://127.0.0.1:{port}/gone.png", "TEXT": "404"},
            {"URL": "http://10.20.30.40/private.png", "TEXT": "private"},
            {"URL": "http://169.254.169.254/latest/meta-data", "TEXT": "metadata service"},
        ]
        manifest = tmp_path / "laion.jsonl"
        manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        cluster.call("POST", "/v1/collections", {"name": "urls"}, expect=201)
        job_id = cluster.call("POST", "/v1/collections/urls/ingest", {"path": str(manifest)}, expect=202)["job_id"]
        job = cluster.wait_job(job_id)
        assert (job["state"], job["done"], job["failed"]) == ("done", 5, 3), job
        reasons = {e["item"]: e["reason"] for e in job["errors"]}
        assert reasons[f"http://127.0.0.1:{port}/gone.png"].startswith("HTTP 404")
        assert "refused" in reasons["http://10.20.30.40/private.png"]
        assert "refused" in reasons["http://169.254.169.254/latest/meta-data"]
        assert cluster.points("urls") == 5
        hit = cluster.call("POST", "/v1/collections/urls/search", {"expression": '"blue"', "limit": 5}, expect=200)
        payload = hit["hits"][0]["payload"]
        assert payload["source"].startswith(f"http://127.0.0.1:{port}/") and payload["aesthetic"] == 5.5
    finally:
        server.shutdown()


def test_internal_routes_need_the_token(cluster: Cluster) -> None:
    path = "/internal/v1/collections/celery1/points/lookup"
    assert cluster.http.post(path, json={"ids": []}).status_code == 401
    assert cluster.http.post(path, json={"ids": []}, headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = cluster.http.post(path, json={"ids": []}, headers={"Authorization": f"Bearer {TOKEN}"})
    # Authorised: the route runs (and store collections are named "<name>-<hex>", so this one is unknown).
    assert ok.status_code == 404 and ok.json()["detail"]["code"] == "collection_not_found", ok.text


def test_thumbnails_travel_with_the_points_to_the_api_that_stores_them(cluster: Cluster, tmp_path: Path) -> None:
    """Workers make each thumbnail from the image they decoded; the API (the single writer) stores it and
    serves it, and never reads the source file again."""
    import numpy as np

    folder = tmp_path / "photos"
    folder.mkdir()
    originals = {}
    for i, color in enumerate(["red", "green", "blue"]):
        img = Image.new("RGB", (640, 480), color)
        img.paste((255, 255, 255), (40 * i, 40, 40 * i + 200, 240))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=90)
        (folder / f"{color}.jpg").write_bytes(buf.getvalue())
        originals[color] = img
    cluster.call("POST", "/v1/collections", {"name": "thumbs"}, expect=201)
    job_id = cluster.call("POST", "/v1/collections/thumbs/ingest", {"path": str(folder)}, expect=202)["job_id"]
    assert cluster.wait_job(job_id)["state"] == "done"
    stored = list((cluster.tmp / "data" / "thumbnails").glob("thumbs-*/*/*.jpg"))
    assert len(stored) == 3, stored
    for p in folder.iterdir():
        p.unlink()  # gone from disk: the thumbnails are the API's own copies
    hits = cluster.call("POST", "/v1/collections/thumbs/search", {"expression": '"red"', "limit": 3}, expect=200)
    for hit in hits["hits"]:
        r = cluster.http.get(f"/v1/collections/thumbs/points/{hit['id']}/image")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text
        want = originals[Path(hit["payload"]["source"]).stem].copy()
        want.thumbnail((256, 256))
        got = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"), dtype=np.float32)
        assert got.shape == (192, 256, 3) and np.abs(got - np.asarray(want, dtype=np.float32)).mean() < 8


def test_collection_classify_on_celery_with_the_embedded_store_runs_in_the_api(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Only the API may open the embedded store, so the classify job runs in its local queue; waiting in
    ``queued`` past ``requeue_after_s`` (6 s here) never gets it re-planned as an ingest by the sweeper."""
    folder = tmp_path / "colours"
    folder.mkdir()
    for i, color in enumerate(("red", "green", "blue", "red")):
        Image.new("RGB", (64 + i, 64), color).save(folder / f"{i}-{color}.png")  # distinct: ids come from content
    cluster.call("POST", "/v1/collections", {"name": "labelled"}, expect=201)
    job_id = cluster.call("POST", "/v1/collections/labelled/ingest", {"path": str(folder)}, expect=202)["job_id"]
    assert cluster.wait_job(job_id)["state"] == "done"
    body = {"set": "color", "labels": ["red", "green", "blue"]}
    job_id = cluster.call("POST", "/v1/collections/labelled/classify", body, expect=202)["job_id"]
    job = cluster.wait_job(job_id)
    assert (job["state"], job["total"], job["done"], job["failed"]) == ("done", 4, 4, 0), job
    assert job["source"] == {"kind": "classify", "set": "color", "labels": ["red", "green", "blue"], "vector": "image"}
    hits = cluster.call("POST", "/v1/collections/labelled/search", {"expression": '"a colour"', "limit": 4}, expect=200)
    assert all(h["payload"]["label_color"] in body["labels"] for h in hits["hits"]), hits
