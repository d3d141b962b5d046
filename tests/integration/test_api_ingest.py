"""Ingestion through the real app: bad input is reported per item, nothing is lost, re-ingest is idempotent."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.integration


def _wait(api, job_id: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    api.app.state.runtime.queue.wait(job_id, timeout=120)
    return api.get(f"/v1/jobs/{job_id}").json()


def _png(color: str, size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def fresh(api):  # type: ignore[no-untyped-def]
    """A new empty collection, deleted afterwards."""
    name = "t" + str(abs(hash(object())))[:8]
    assert api.post("/v1/collections", json={"name": name}).status_code == 201
    yield name
    api.delete(f"/v1/collections/{name}")


def test_collection_lifecycle_and_errors(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/v1/collections", json={"name": "life"})
    assert r.status_code == 201 and r.json()["points"] == 0 and r.json()["model"] == "shapes-clip"
    assert api.post("/v1/collections", json={"name": "life"}).status_code == 409
    assert "life" in [c["name"] for c in api.get("/v1/collections").json()["collections"]]
    assert api.delete("/v1/collections/life").status_code == 204
    assert api.get("/v1/collections/life").status_code == 404
    assert api.delete("/v1/collections/life").status_code == 404
    bad = api.post("/v1/collections", json={"name": "../etc"})
    assert bad.status_code == 422 and "name" in bad.json()["detail"]["message"]


def test_corrupt_files_are_recorded_per_item(api, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "good.png").write_bytes(_png("red"))
    (tmp_path / "good.txt").write_text("a red square")
    (tmp_path / "corrupt.png").write_bytes(_png("blue")[:50])
    (tmp_path / "text.jpg").write_text("I am not a JPEG")
    (tmp_path / "empty.webp").write_bytes(b"")
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path)})
    job = _wait(api, r.json()["job_id"])
    assert (job["state"], job["total"], job["done"], job["failed"]) == ("done", 4, 1, 3)
    reasons = {Path(e["item"]).name: e["reason"] for e in job["errors"]}
    assert "truncated" in reasons["corrupt.png"]
    assert "not an image" in reasons["text.jpg"]
    assert reasons["empty.webp"] == "empty file"
    assert api.get(f"/v1/collections/{fresh}").json()["points"] == 1
    # The job list carries the failures too (up to max_errors per job, 10 by default), and says how many it left out.
    [listed] = api.get(f"/v1/jobs?collection={fresh}").json()["jobs"]
    assert {Path(e["item"]).name for e in listed["errors"]} == set(reasons) and listed["errors_omitted"] == 0
    [short] = api.get(f"/v1/jobs?collection={fresh}&max_errors=1").json()["jobs"]
    assert (len(short["errors"]), short["errors_omitted"]) == (1, 2)
    one = api.get(f"/v1/jobs/{job['job_id']}?max_errors=2").json()
    assert (len(one["errors"]), one["errors_omitted"]) == (2, 1)


def _stored_metric(api, outcome: str) -> float:  # type: ignore[no-untyped-def]
    """``signifier_ingest_items_total{outcome=...}`` as ``/metrics`` shows it (0 before any sample)."""
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(f'signifier_ingest_items_total{{outcome="{outcome}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_reingest_is_idempotent(api, fresh, shapes_samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for p in sorted(shapes_samples.glob("*.png"))[:12]:
        shutil.copy(p, tmp_path / p.name)
    first = _wait(api, api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path)}).json()["job_id"])
    assert (first["done"], first["skipped"]) == (12, 0)
    stored, already = _stored_metric(api, "stored"), _stored_metric(api, "already_stored")
    again = _wait(api, api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path)}).json()["job_id"])
    # Nothing new was stored: the job says all 12 were there already, and /metrics does not count them as stored.
    assert (again["state"], again["done"], again["skipped"], again["failed"]) == ("done", 12, 12, 0)
    assert _stored_metric(api, "stored") == stored
    assert _stored_metric(api, "already_stored") == already + 12
    assert api.get(f"/v1/collections/{fresh}").json()["points"] == 12
    listed = api.get(f"/v1/jobs?collection={fresh}").json()["jobs"]
    assert [j["skipped"] for j in listed] == [12, 0]


def test_bad_sources_are_refused_up_front(api, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(empty)})
    assert r.status_code == 422 and "contains no images" in r.json()["detail"]["message"]
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path / "missing")})
    assert r.status_code == 422 and "not found" in r.json()["detail"]["message"]
    (tmp_path / "m.csv").write_text("name,alt_text\nx,y\n")
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path / "m.csv")})
    assert r.status_code == 422 and "no image column" in r.json()["detail"]["message"]
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"bogus": 1})
    assert r.status_code == 422
    # Refused requests to a new name create neither the collection nor a job.
    jobs = len(api.get("/v1/jobs").json()["jobs"])
    for body in ({"path": str(empty)}, {"bogus": 1}):
        r = api.post("/v1/collections/never-made/ingest", json=body)
        assert r.status_code == 422, r.text
    r = api.post("/v1/collections/bad%20name/ingest", json={"path": str(empty)})
    assert r.status_code == 422 and "name" in r.json()["detail"]["message"], r.text
    assert api.get("/v1/collections/never-made").status_code == 404
    assert len(api.get("/v1/jobs").json()["jobs"]) == jobs


def test_ingest_into_a_new_name_creates_the_collection(api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.png").write_bytes(_png("red"))
    r = api.post("/v1/collections/made-by-ingest/ingest", json={"path": str(tmp_path)})
    assert r.status_code == 202 and r.json()["created"] is True, r.text
    job = _wait(api, r.json()["job_id"])
    assert (job["state"], job["done"], job["collection"]) == ("done", 1, "made-by-ingest")
    info = api.get("/v1/collections/made-by-ingest").json()
    assert (info["points"], info["model"]) == (1, "shapes-clip")
    files = [("files", ("b.png", _png("blue"), "image/png"))]
    r = api.post("/v1/collections/made-by-upload/ingest", files=files)
    assert r.status_code == 202 and r.json()["created"] is True, r.text
    assert _wait(api, r.json()["job_id"])["done"] == 1
    for name in ("made-by-ingest", "made-by-upload"):
        assert api.delete(f"/v1/collections/{name}").status_code == 204


def test_broken_manifests_are_a_422_naming_the_file_and_line(api, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.png").write_bytes(_png("red"))
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1" + b"\x00" * 64)
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path / "corrupt.parquet")})
    assert r.status_code == 422, r.text
    assert "manifest corrupt.parquet is not a readable Parquet file" in r.json()["detail"]["message"]
    (tmp_path / "broken.jsonl").write_text('{"path": "a.png"\n{"path": "a.png"}\n')
    r = api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path / "broken.jsonl")})
    assert r.status_code == 422, r.text
    message = r.json()["detail"]["message"]
    assert "manifest broken.jsonl: line 1 is not valid JSON" in message and "empty" not in message


def test_multipart_upload_with_alt_text(api, fresh) -> None:  # type: ignore[no-untyped-def]
    files = [("files", ("a.png", _png("red"), "image/png")), ("files", ("b.png", b"garbage", "image/png"))]
    r = api.post(f"/v1/collections/{fresh}/ingest", files=files, data={"alt_text": ["a red thing", "broken"]})
    assert r.status_code == 202, r.text
    job = _wait(api, r.json()["job_id"])
    assert (job["done"], job["failed"]) == (1, 1)
    hits = api.post(f"/v1/collections/{fresh}/search", json={"expression": '"red"'}).json()["hits"]
    assert hits[0]["payload"]["alt_text"] == "a red thing"
    jobs = api.get(f"/v1/jobs?collection={fresh}").json()["jobs"]
    r = api.post(f"/v1/collections/{fresh}/ingest", files=files, data={"alt_text": ["only one"]})
    assert r.status_code == 422 and "alt_text" in r.json()["detail"]["message"]
    assert api.get(f"/v1/jobs?collection={fresh}").json()["jobs"] == jobs, "a refused upload leaves no job behind"


def test_empty_alt_text_stores_no_text_vector(api, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.png").write_bytes(_png("green"))
    (tmp_path / "b.png").write_bytes(_png("yellow"))
    (tmp_path / "b.txt").write_text("yellow")
    _wait(api, api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path)}).json()["job_id"])
    hits = api.post(f"/v1/collections/{fresh}/search", json={"expression": '"green"', "vector": "text"}).json()
    assert [h["payload"]["alt_text"] for h in hits["hits"]] == ["yellow"]
    no_text = api.post(f"/v1/collections/{fresh}/search", json={"expression": '"green"'}).json()["hits"]
    a = next(h for h in no_text if h["payload"]["alt_text"] == "")
    r = api.post(f"/v1/collections/{fresh}/search", json={"expression": f"text({a['id']})"})
    assert r.status_code == 422 and "without alt-text" in r.json()["detail"]["message"]


def test_an_ingested_jpeg_uploaded_again_scores_one(api, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Ingestion and query uploads decode a large JPEG the same (reduced-scale) way: same bytes, same vector."""
    import base64
    import random

    from services.shapes.world import random_spec, render

    rng = random.Random(5)
    photos = []
    for i in range(4):
        buf = io.BytesIO()
        render(random_spec(rng), rng).resize((512, 384), Image.Resampling.BICUBIC).save(buf, format="JPEG")
        (tmp_path / f"p{i}.jpg").write_bytes(buf.getvalue())
        photos.append(buf.getvalue())
    job = _wait(api, api.post(f"/v1/collections/{fresh}/ingest", json={"path": str(tmp_path)}).json()["job_id"])
    assert (job["done"], job["failed"]) == (4, 0)
    for i, data in enumerate(photos):
        body = {"expression": "upload(0)", "uploads": [base64.b64encode(data).decode()], "limit": 4}
        hits = api.post(f"/v1/collections/{fresh}/search", json=body).json()["hits"]
        assert hits[0]["payload"]["source"].endswith(f"p{i}.jpg")
        assert hits[0]["payload"]["width"] == 512 and hits[0]["payload"]["height"] == 384  # the real size
        assert hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
        assert hits[1]["score"] < 0.9999
