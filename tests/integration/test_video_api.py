"""Videos end to end through the real app (embedded Qdrant Edge, SQLite, shapes-clip): films made here
with PyAV from the shapes world, ingested from a folder, searched for moments, grouped, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.shapes.film import Scene, two_scene_film, write_film
from services.shapes.world import ShapeSpec
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("films")
    write_film(root / "a.mp4", two_scene_film(), fps=12, seed=1)
    other = [
        Scene(ShapeSpec("green", "square", "large", "desert"), 3.0, "a green square in the desert"),
        Scene(ShapeSpec("blue", "star", "large", "night"), 3.0, "a blue star at night"),
    ]
    write_film(root / "b.mkv", other, fps=12, seed=2)
    data = (root / "a.mp4").read_bytes()
    (root / "broken.mp4").write_bytes(data[: len(data) * 2 // 3])
    (root / "junk.webm").write_bytes(b"\x1aE\xdf\xa3 definitely not a video" * 50)
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, films: Path, encoder) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    settings = make_settings(tmp_path_factory.mktemp("data"))
    with TestClient(create_app(settings, encoder=encoder)) as c:
        assert c.post("/v1/collections", json={"name": "films"}).status_code == 201
        c.job = _ingest(c, "films", films)  # type: ignore[attr-defined]
        yield c


def _ingest(c: Any, name: str, path: Path) -> dict[str, Any]:
    r = c.post(f"/v1/collections/{name}/ingest", json={"path": str(path)})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    c.app.state.runtime.queue.wait(job_id, timeout=300)
    return dict(c.get(f"/v1/jobs/{job_id}").json())


def _points(c: Any, name: str = "films") -> list[dict[str, Any]]:
    r = c.post(f"/v1/collections/{name}/search", json={"expression": '"a shape"', "limit": 1000})
    assert r.status_code == 200, r.text
    return [dict(h) for h in r.json()["hits"]]


def _video_id(points: list[dict[str, Any]], stem: str) -> str:
    return next(p["payload"]["video_id"] for p in points if Path(p["payload"]["source"]).name == stem)


def test_broken_files_are_per_item_failures_and_the_rest_is_stored(client: Any) -> None:
    job = client.job
    assert job["state"] == "done", job
    reasons = {Path(e["item"].split("@")[0]).name: e["reason"] for e in job["errors"]}
    assert set(reasons) == {"broken.mp4", "junk.webm"}, job["errors"]
    assert "not a readable video" in reasons["broken.mp4"] and "not a readable video" in reasons["junk.webm"]
    points = _points(client)
    assert job["done"] == len(points) > 4 and job["failed"] == 2 and job["total"] == job["done"] + 2


def test_frames_carry_time_shot_frame_duration_and_subtitles(client: Any) -> None:
    frames = sorted(
        (p["payload"] for p in _points(client) if p["payload"]["source"].endswith("a.mp4")),
        key=lambda p: p["timestamp"],
    )
    first_of_shot_1 = min(p["timestamp"] for p in frames if p["shot"] == 1)
    assert abs(first_of_shot_1 - 4.0) <= 1.0, frames  # the cut, within one sampling step
    assert {p["shot"] for p in frames} == {0, 1}
    for p in frames:
        assert p["media"] == "video" and abs(p["duration"] - 8.0) < 0.2 and p["frame"] == round(p["timestamp"] * 12)
        want = "a red circle in the snow" if p["timestamp"] < 4.0 else "a blue star in the forest"
        assert p["alt_text"] == want, p
        assert p["has_text"] is True


def test_a_blue_star_returns_moments_inside_4_to_8_s(client: Any) -> None:
    vid = _video_id(_points(client), "a.mp4")
    r = client.post(
        "/v1/collections/films/search", json={"expression": '"a blue star"', "limit": 100, "filter": {"video_id": vid}}
    )
    hits = r.json()["hits"]
    inside = [4.0 <= h["payload"]["timestamp"] < 8.0 for h in hits]
    # Every moment of the star's shot ranks above every moment of the circle's.
    assert inside[0] and inside == sorted(inside, reverse=True) and not all(inside), hits


def test_time_range_filter(client: Any) -> None:
    flt = {"must": [{"key": "timestamp", "range": {"gte": 0, "lt": 3.5}}]}
    r = client.post("/v1/collections/films/search", json={"expression": '"a blue star"', "limit": 50, "filter": flt})
    hits = r.json()["hits"]
    assert hits and all(h["payload"]["timestamp"] < 3.5 for h in hits)


def test_group_by_video_gives_one_group_per_video_with_its_best_moments(client: Any) -> None:
    body = {"expression": '"a blue star"', "limit": 10, "group_by": "video", "group_size": 2}
    out = client.post("/v1/collections/films/search", json=body).json()
    groups = out["groups"]
    ids = [g["video_id"] for g in groups]
    assert len(ids) == len(set(ids)) == 2, groups
    for g in groups:
        scores = [m["score"] for m in g["moments"]]
        assert 1 <= len(scores) <= 2 and scores == sorted(scores, reverse=True) and g["score"] == scores[0]
        assert all(m["payload"]["video_id"] == g["video_id"] for m in g["moments"])
        assert g["duration"] and g["source"]
    a = next(g for g in groups if g["source"].endswith("a.mp4"))
    assert 4.0 <= a["moments"][0]["payload"]["timestamp"] < 8.0  # its best moment is the star's shot
    assert [h["id"] for h in out["hits"]] == [g["moments"][0]["id"] for g in groups]
    plain = client.post("/v1/collections/films/search", json={"expression": '"a blue star"'}).json()
    assert "groups" not in plain


def test_expressions_work_on_frames(client: Any) -> None:
    r = client.post("/v1/collections/films/search", json={"expression": '"a blue star" - "forest"', "limit": 3})
    assert r.status_code == 200 and r.json()["hits"]


def test_range_requests(client: Any, films: Path) -> None:
    vid = _video_id(_points(client), "a.mp4")
    data = (films / "a.mp4").read_bytes()
    url = f"/v1/collections/films/videos/{vid}/stream"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"
    part = client.get(url, headers={"Range": "bytes=100-1123"})
    assert part.status_code == 206 and part.content == data[100:1124]
    assert part.headers["content-range"] == f"bytes 100-1123/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    bad = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(data)}"
    assert client.get(url, headers={"Range": "bytes=5-2"}).status_code == 200  # malformed: ignored
    assert client.get("/v1/collections/films/videos/0123456789abcdef0123456789abcdef/stream").status_code == 404
    assert client.get("/v1/collections/films/videos/..%2f..%2fetc/stream").status_code == 404
    assert client.get(f"/v1/collections/nope/videos/{vid}/stream").status_code == 404


def test_a_changed_file_is_not_served(client: Any, films: Path, tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "c.mp4"
    shutil.copy(films / "a.mp4", src)
    shutil.copy(films / "a.srt", tmp_path / "c.srt")
    assert client.post("/v1/collections", json={"name": "changed"}).status_code == 201
    assert _ingest(client, "changed", tmp_path)["state"] == "done"
    vid = _video_id(_points(client, "changed"), "c.mp4")
    url = f"/v1/collections/changed/videos/{vid}/stream"
    assert client.get(url).status_code == 200
    src.write_bytes(b"x" * 10)
    assert client.get(url).status_code == 404


def test_video_records_go_with_their_collection(client: Any, films: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copy(films / "a.mp4", tmp_path / "d.mp4")
    assert client.post("/v1/collections", json={"name": "doomed"}).status_code == 201
    assert _ingest(client, "doomed", tmp_path)["state"] == "done"
    vid = _video_id(_points(client, "doomed"), "d.mp4")
    url = f"/v1/collections/doomed/videos/{vid}/stream"
    assert client.get(url).status_code == 200
    videos = client.app.state.runtime.settings.videos_dir
    (kept,) = [d for d in videos.iterdir() if d.name.startswith("doomed-")]
    assert (kept / f"{vid}.json").is_file()

    assert client.delete("/v1/collections/doomed").status_code == 204
    assert not kept.exists()  # the records of what it may serve went with it
    assert client.get(url).status_code == 404
    # A new collection of the same name is another store: it serves nothing of the old one's videos.
    assert client.post("/v1/collections", json={"name": "doomed"}).status_code == 201
    assert client.get(url).status_code == 404
    assert client.get(f"/v1/collections/films/videos/{_video_id(_points(client), 'a.mp4')}/stream").status_code == 200


def test_frame_thumbnails_are_stored_at_ingest(client: Any) -> None:
    p = _points(client)[0]
    r = client.get(f"/v1/collections/films/points/{p['id']}/image?size=64")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"


def test_reingest_is_idempotent(client: Any, films: Path) -> None:
    before = sorted(p["id"] for p in _points(client))
    job = _ingest(client, "films", films)
    assert job["state"] == "done"
    assert sorted(p["id"] for p in _points(client)) == before


def test_uploaded_video(client: Any, films: Path) -> None:
    assert client.post("/v1/collections", json={"name": "uploaded"}).status_code == 201
    files = [("files", ("clip.mkv", (films / "b.mkv").read_bytes(), "video/x-matroska"))]
    r = client.post("/v1/collections/uploaded/ingest", files=files)
    assert r.status_code == 202, r.text
    client.app.state.runtime.queue.wait(r.json()["job_id"], timeout=120)
    job = client.get(f"/v1/jobs/{r.json()['job_id']}").json()
    assert job["state"] == "done" and job["done"] >= 2 and job["failed"] == 0, job
    shots = {p["payload"]["shot"] for p in _points(client, "uploaded")}
    assert shots == {0, 1}
