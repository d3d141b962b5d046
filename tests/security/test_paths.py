"""Server-side paths are a deployment admin's grant, not a team right (review findings 1, 2, 3).

Each test is an attack by beta's editor (or a careless upload) on a real ``SIGNIFIER_AUTH=required``
server: reading alpha's uploads, the data dir, folders outside beta's root, ``~``; manifest rows and
shard patterns stepping out; a symlink in beta's root pointing at alpha's image; telling "missing" from
"exists" by the message; learning the data dir from a job record; leftovers of a refused upload.

``granted`` grants beta its root with the explicit mapping and grants alpha nothing, so alpha's path
ingestion is off. ``shared_server`` (the harness) grants ``<tmp>/roots/{team}``.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.integration.celery_support import REPO
from tests.security.support import SharedServer

UNREADABLE = "not found or not readable under this team's ingest roots"


def png(color: tuple[int, int, int] = (200, 30, 30), size: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def shard(path: Path, n: int = 2) -> Path:
    with tarfile.open(path, "w") as tf:
        for i in range(n):
            for name, data in ((f"{i:04d}.png", png((10 * i, 100, 200))), (f"{i:04d}.txt", b"a shard sample")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    tmp = tmp_path_factory.mktemp("paths")
    beta_root = tmp / "roots" / "beta"
    env = {
        "SIGNIFIER_INGEST_ROOTS": None,
        "SIGNIFIER_TEAM_INGEST_ROOTS": json.dumps({"beta": [str(beta_root)]}),
        "SIGNIFIER_LIMITS__MAX_UPLOAD_BYTES": "200000",
    }
    server = SharedServer(tmp, env=env)
    # Alpha's private files, in alpha's folder and beside the roots; beta's own, in beta's root.
    alpha = server.roots / "alpha"
    (alpha / "secret.png").write_bytes(png((1, 2, 3)))
    (alpha / "secret.txt").write_text("alpha's private alt-text")
    shard(alpha / "a.tar")
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "x.png").write_bytes(png((9, 9, 9)))
    imgs = beta_root / "imgs"
    imgs.mkdir(parents=True)
    (imgs / "ok.png").write_bytes(png((0, 200, 0)))
    shard(beta_root / "ok.tar")
    with server:
        yield server


def _message(r: httpx.Response) -> str:
    detail = r.json().get("detail", {})
    return str(detail.get("message", detail)) if isinstance(detail, dict) else str(detail)


def _collection(c: httpx.Client, name: str) -> None:
    r = c.post("/v1/collections", json={"name": name})
    assert r.status_code in (201, 409), r.text


def _ingest(c: httpx.Client, collection: str, path: str) -> httpx.Response:
    return c.post(f"/v1/collections/{collection}/ingest", json={"path": path})


def _upload(c: httpx.Client, collection: str, files: list[tuple[str, bytes]], alt: list[str] | None = None) -> Any:
    parts = [("files", (name, data, "image/png")) for name, data in files]
    return c.post(f"/v1/collections/{collection}/ingest", files=parts, data={"alt_text": alt} if alt else None)


def _no_server_paths(text: str, server: SharedServer) -> None:
    assert str(server.data.resolve()) not in text and str(server.data) not in text, text
    assert not re.search(r"/proc/\d+", text), text


def _refused(r: httpx.Response, raw: str) -> None:
    """The uniform refusal: one status and one message (``<path as given>: UNREADABLE``) for all."""
    assert r.status_code == 422, (r.status_code, r.text)
    assert _message(r) == f"{raw}: {UNREADABLE}", r.text


def _alpha_upload(server: SharedServer) -> dict[str, Any]:
    with server.client("alpha", "editor") as a:
        _collection(a, "private")
        r = _upload(a, "private", [("cat.png", png((5, 5, 250))), ("bad.png", b"not an image")], ["alpha's cat", "x"])
        assert r.status_code == 202, r.text
        return server.wait_job(a, r.json()["job_id"])


def test_beta_cannot_ingest_alpha_uploads_nor_the_data_dir(granted: SharedServer) -> None:
    job = _alpha_upload(granted)
    uploads = granted.data / "uploads"
    [job_dir] = [d for d in uploads.iterdir() if d.name == job["job_id"]]
    manifest = job_dir / "00000_m.jsonl"
    manifest.write_text(json.dumps({"path": "00000_cat.png"}) + "\n")  # as if uploaded as an "image"
    with granted.client("beta", "editor") as b:
        _collection(b, "loot")
        for raw in (str(uploads), str(granted.data), str(job_dir), str(manifest), str(granted.data / "signifier.db")):
            _refused(_ingest(b, "loot", raw), raw)
        assert b.get("/v1/collections/loot").json()["points"] == 0


def test_the_server_state_is_not_ingestible_even_inside_a_granted_root(make_server: Any) -> None:
    """A data dir placed inside beta's root: its uploads, vectors and database stay refused (the deny wins)."""
    server: SharedServer = make_server(env={"SIGNIFIER_INGEST_ROOTS": None})
    beta_root = server.data.parent
    server.env["SIGNIFIER_TEAM_INGEST_ROOTS"] = json.dumps({"beta": [str(beta_root)]})  # the Proc shares this dict
    with server:
        job = _alpha_upload(server)
        with server.client("beta", "editor") as b:
            _collection(b, "c")
            for raw in ("data/uploads", f"data/uploads/{job['job_id']}", "data/collections", "data/signifier.db"):
                _refused(_ingest(b, "c", raw), raw)
            (server.data / "uploads" / "link.png").symlink_to(server.data / "uploads" / job["job_id"] / "00000_cat.png")
            (beta_root / "link.png").symlink_to(server.data / "uploads" / job["job_id"] / "00000_cat.png")
            _refused(_ingest(b, "c", "link.png"), "link.png")
            r = _ingest(b, "c", "data")  # the data dir itself: its state is not listed, so no images
            assert r.status_code == 422 and "contains no images" in _message(r), r.text
            assert b.get("/v1/collections/c").json()["points"] == 0


def test_paths_outside_the_root_read_like_missing_ones(granted: SharedServer) -> None:
    """No existence oracle: alpha's folder, a tmp folder, /etc, ~, /proc/self and a missing path read alike."""
    alpha, outside = granted.roots / "alpha", granted.tmp / "outside"
    tries = [
        str(alpha), str(alpha / "secret.png"), str(outside), str(outside / "x.png"), "/etc", "/etc/passwd",
        "~", "~/.bashrc", "/root", "/proc/self/environ", "/proc/self/cwd", "../alpha", "imgs/../../alpha",
        str(granted.roots / "beta" / "missing"), "missing", "imgs/missing.png",
    ]  # fmt: skip
    with granted.client("beta", "editor") as b:
        _collection(b, "probe")
        for raw in tries:
            r = _ingest(b, "probe", raw)
            _refused(r, raw)
            _no_server_paths(r.text, granted)


def test_beta_ingests_its_own_root_and_its_job_shows_the_path_it_gave(granted: SharedServer) -> None:
    with granted.client("beta", "editor") as b:
        _collection(b, "own")
        r = _ingest(b, "own", "imgs")  # relative to beta's root
        assert r.status_code == 202, r.text
        job = granted.wait_job(b, r.json()["job_id"])
        assert job["state"] == "done" and job["done"] == 1, job
        assert job["source"]["path"] == "imgs" and not {"grant", "target"} & set(job["source"]), job["source"]
        assert str(granted.roots) not in json.dumps(job["source"])


def test_manifest_rows_cannot_step_outside_and_fail_alike(granted: SharedServer) -> None:
    beta_root = granted.roots / "beta"
    rows = [
        {"path": "imgs/ok.png", "alt_text": "mine"},
        {"path": str(granted.roots / "alpha" / "secret.png")},  # absolute, another team's
        {"path": "../alpha/secret.png"},  # relative, stepping into alpha's root
        {"path": "../../outside/x.png"},  # stepping out of every root
        {"path": "/etc/passwd"},  # exists, not an image: must read like a missing file
        {"path": "/proc/self/environ"},
        {"path": "~/.bashrc"},
        {"path": "imgs/missing.png"},  # inside, missing
    ]
    (beta_root / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with granted.client("beta", "editor") as b:
        _collection(b, "rows")
        r = _ingest(b, "rows", str(beta_root / "rows.jsonl"))
        assert r.status_code == 202, r.text
        job = granted.wait_job(b, r.json()["job_id"], timeout=180)
        assert job["done"] == 1 and job["failed"] == len(rows) - 1, job
        reasons = {e["item"]: e["reason"] for e in job["errors"]}
        assert all(reason.endswith(UNREADABLE) for reason in reasons.values()), reasons
        assert len({reason.split(": ", 1)[1] for reason in reasons.values()}) == 1, reasons  # one message for all
        _no_server_paths(json.dumps(job), granted)
        assert b.get("/v1/collections/rows").json()["points"] == 1


def test_a_symlink_in_beta_root_to_alpha_image_is_not_followed(granted: SharedServer) -> None:
    beta_root = granted.roots / "beta"
    folder = beta_root / "linked"
    folder.mkdir()
    (folder / "mine.png").write_bytes(png((40, 40, 200)))
    (folder / "mine.txt").symlink_to(granted.roots / "alpha" / "secret.txt")  # alt-text sidecar out of the root
    (folder / "stolen.png").symlink_to(granted.roots / "alpha" / "secret.png")
    (folder / "dangling.png").symlink_to(granted.roots / "alpha" / "no-such.png")
    (folder / "sub").symlink_to(granted.roots / "alpha", target_is_directory=True)
    (beta_root / "link.jsonl").write_text(json.dumps({"path": "linked/stolen.png"}) + "\n")
    (beta_root / "manifest-link.jsonl").symlink_to(granted.roots / "alpha" / "m.jsonl")
    (granted.roots / "alpha" / "m.jsonl").write_text(json.dumps({"path": "secret.png"}) + "\n")
    with granted.client("beta", "editor") as b:
        _collection(b, "links")
        r = _ingest(b, "links", str(folder))
        assert r.status_code == 202, r.text
        job = granted.wait_job(b, r.json()["job_id"])
        # mine.png fails (its sidecar is a link out), stolen and dangling fail alike; nothing of alpha's stored
        assert job["done"] == 0 and job["failed"] == 3, job
        stolen, dangling = (
            next(e["reason"] for e in job["errors"] if e["item"].endswith(n)) for n in ("stolen.png", "dangling.png")
        )
        assert stolen.split(": ", 1)[1] == dangling.split(": ", 1)[1] == UNREADABLE
        r = _ingest(b, "links", str(beta_root / "link.jsonl"))
        job = granted.wait_job(b, r.json()["job_id"])
        assert job["done"] == 0 and job["failed"] == 1 and UNREADABLE in job["errors"][0]["reason"], job
        _refused(_ingest(b, "links", "manifest-link.jsonl"), "manifest-link.jsonl")  # relative to the root
        assert b.get("/v1/collections/links").json()["points"] == 0
        assert "alpha's private alt-text" not in json.dumps(
            b.post("/v1/collections/links/search", json={"expression": '"x"'}).json()
        )


def test_a_shard_pattern_cannot_step_outside(granted: SharedServer) -> None:
    beta_root = granted.roots / "beta"
    (beta_root / "alias.tar").symlink_to(granted.roots / "alpha" / "a.tar")
    with granted.client("beta", "editor") as b:
        _collection(b, "shards")
        for raw in (
            f"{beta_root}/{{ok,../alpha/a}}.tar",
            "{ok,../alpha/a}.tar",
            str(granted.roots / "alpha" / "a.tar"),
            "alias.tar",
        ):
            r = _ingest(b, "shards", raw)
            assert r.status_code == 422 and UNREADABLE in _message(r), (raw, r.text)
        r = _ingest(b, "shards", "ok.tar")
        assert r.status_code == 202, r.text
        assert granted.wait_job(b, r.json()["job_id"])["done"] == 2


def test_path_ingestion_is_off_for_a_team_without_roots(granted: SharedServer) -> None:
    """Alpha has no grant in ``granted``: even its own folder is refused, with the setting to ask for."""
    with granted.client("alpha", "owner") as a:
        _collection(a, "none")
        r = _ingest(a, "none", str(granted.roots / "alpha"))
        assert r.status_code == 403, r.text
        assert "SIGNIFIER_TEAM_INGEST_ROOTS" in _message(r) and "SIGNIFIER_INGEST_ROOTS" in _message(r)


def test_upload_jobs_do_not_show_the_data_dir(granted: SharedServer) -> None:
    job = _alpha_upload(granted)
    source = job["source"]
    assert source["kind"] == "upload" and source["files"] == 2 and set(source) <= {"kind", "files", "store"}, source
    assert job["failed"] == 1 and job["errors"][0]["item"] == "00001_bad.png", job
    with granted.client("alpha", "editor") as a:
        listed = a.get("/v1/jobs").json()
    _no_server_paths(json.dumps(job) + json.dumps(listed), granted)


def test_a_refused_upload_leaves_nothing_on_disk(granted: SharedServer) -> None:
    uploads = granted.data / "uploads"
    before = {p for p in uploads.rglob("*")} if uploads.exists() else set()
    big = png((1, 1, 1), size=2) + b"\0" * 300_000  # over the 200 kB limit of this server
    files = [(f"f{i}.png", png((i, i, i))) for i in range(12)] + [("big.png", big)]
    with granted.client("alpha", "editor") as a:
        _collection(a, "refused")
        r = _upload(a, "refused", files)
        assert r.status_code == 413, r.text
        _no_server_paths(r.text, granted)
    after = {p for p in uploads.rglob("*")} if uploads.exists() else set()
    assert after == before, sorted(str(p) for p in after - before)


def test_a_root_without_team_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_")}
    env.update(
        SIGNIFIER_AUTH="required", SIGNIFIER_DATA_DIR=str(tmp_path / "data"), SIGNIFIER_MODEL="shapes-clip",
        SIGNIFIER_INGEST_ROOTS=json.dumps([str(tmp_path / "shared")]),
    )  # fmt: skip
    try:
        r = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "serve", "--port", "0"],
            env={**env, "PATH": os.environ["PATH"]}, cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("the server started with a root every team could read")
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "{team}" in out and "SIGNIFIER_TEAM_INGEST_ROOTS" in out, out


def test_team_roots_of_the_harness_let_each_team_read_only_its_own(shared_server: SharedServer) -> None:
    """``<tmp>/roots/{team}``: beta reads roots/beta, not roots/alpha."""
    (shared_server.roots / "alpha" / "a.png").write_bytes(png((1, 100, 1)))
    (shared_server.roots / "beta" / "b.png").write_bytes(png((100, 1, 1)))
    with shared_server.client("beta", "editor") as b:
        _collection(b, "mine")
        _refused(_ingest(b, "mine", str(shared_server.roots / "alpha")), str(shared_server.roots / "alpha"))
        r = _ingest(b, "mine", str(shared_server.roots / "beta"))
        assert r.status_code == 202, r.text
        assert shared_server.wait_job(b, r.json()["job_id"])["done"] == 1
