"""The README's team recipe, followed literally, gives a server where beta cannot read a byte of alpha's.

The shell block between ``<!-- team-recipe -->`` markers is run as written by bash, for team ``acme``
and again for team ``beta`` (only the folder ``/srv/images`` is moved under a temporary directory, the
public ``--host 0.0.0.0`` becomes loopback with a free port, and ``HOST:8000`` is that address). Then
beta's owner attacks acme's data: its collections, points, thumbnails and jobs by name and id, its
folder and uploads by path, the server's own files by path, and manifest rows pointing at them.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.integration.celery_support import REPO, free_port, wait_for

pytestmark = pytest.mark.integration

UNREADABLE = "not found or not readable under this team's ingest roots"


def recipe() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- team-recipe -->\s*```sh\n(.*?)```\s*<!-- /team-recipe -->", text, re.S)
    assert m, "README.md has no team recipe between <!-- team-recipe --> markers"
    return m.group(1)


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 48), color).save(buf, format="PNG")
    return buf.getvalue()


def test_the_recipe_is_what_the_security_harness_runs(tmp_path: Path) -> None:
    """The harness (``tests/security/support.py``) serves what the README tells people to run."""
    from tests.security.support import SharedServer

    block = recipe()
    harness = SharedServer(tmp_path).env
    assert "export SIGNIFIER_AUTH=required" in block and harness["SIGNIFIER_AUTH"] == "required"
    roots = re.search(r"export SIGNIFIER_INGEST_ROOTS='\[\"([^\"]*)\"\]'", block)
    assert roots and roots.group(1).endswith("/{team}")
    assert harness["SIGNIFIER_INGEST_ROOTS"].endswith('/{team}"]')


def run_recipe(tmp: Path, team: str, port: int, env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    """Run the recipe for ``team``: its key, and the server process when the recipe started one."""
    script = recipe().replace("/srv/images", str(tmp / "srv" / "images")).replace("acme", team)
    script = script.replace("--host 0.0.0.0", f"--host 127.0.0.1 --port {port}")
    script = script.replace("HOST:8000", f"127.0.0.1:{port}")
    lines = script.splitlines()
    serve_at = next(i for i, line in enumerate(lines) if "signifier serve" in line)
    setup = "\n".join(lines[:serve_at])
    res = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"{setup}\nprintf '%s' \"$KEY\""],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    key = res.stdout.strip().splitlines()[-1]  # the printf; create-team prints its own lines
    assert key.startswith("sig_"), res.stdout
    serve = "\n".join(line for line in lines[: serve_at + 1] if not line.startswith("KEY=") and "create-" not in line)
    log = (tmp / f"serve-{team}.log").open("wb")
    proc = subprocess.Popen(["bash", "-c", f"{serve}"], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    return key, proc


def test_following_the_readme_recipe_keeps_beta_out_of_acme(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_") or k.startswith("SIGNIFIER_TEST_")},
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "SIGNIFIER_DATA_DIR": str(tmp_path / "data"),
        "SIGNIFIER_MODEL": "shapes-clip",
        "SIGNIFIER_DEVICE": "cpu",
        "OMP_NUM_THREADS": "1",
    }
    acme_key, proc = run_recipe(tmp_path, "acme", port, env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, 90, "the recipe's server")
        beta_key = subprocess.run(
            ["bash", "-c", "signifier admin create-team beta >/dev/null && "
             "signifier admin create-key --team beta --role owner --quiet"],
            env={**env, "SIGNIFIER_AUTH": "required"}, capture_output=True, text=True, timeout=120, check=True,
        ).stdout.strip()  # fmt: skip
        acme_dir = tmp_path / "srv" / "images" / "acme"
        (tmp_path / "srv" / "images" / "beta").mkdir(parents=True)
        (acme_dir / "holiday").mkdir(parents=True)
        (acme_dir / "holiday" / "a.png").write_bytes(png((250, 10, 10)))
        (acme_dir / "holiday" / "a.txt").write_text("acme's private caption")
        acme = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {acme_key}"}, timeout=60)
        beta = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {beta_key}"}, timeout=60)

        # acme uses its folder and an upload, as the recipe says it may.
        assert acme.post("/v1/collections", json={"name": "private"}).status_code == 201
        job = acme.post("/v1/collections/private/ingest", json={"path": "holiday"}).json()["job_id"]
        up = acme.post("/v1/collections/private/ingest", files=[("files", ("u.png", png((10, 250, 10)), "image/png"))])
        assert up.status_code == 202, up.text
        for j in (job, up.json()["job_id"]):
            wait_for(lambda j=j: acme.get(f"/v1/jobs/{j}").json()["state"] == "done", 60, "acme's jobs")
        points = acme.post("/v1/collections/private/search", json={"expression": '"a red square"', "limit": 5})
        ids = [h["id"] for h in points.json()["hits"]]
        assert len(ids) == 2

        # beta, by name and id: nothing.
        assert beta.post("/v1/collections", json={"name": "mine"}).status_code == 201
        assert "private" not in str(beta.get("/v1/collections").json())
        for path in ("/v1/collections/private", f"/v1/collections/private/points/{ids[0]}",
                     f"/v1/collections/private/points/{ids[0]}/image", f"/v1/jobs/{job}"):  # fmt: skip
            r = beta.get(path)
            assert r.status_code == 404, (path, r.status_code, r.text)
            assert "acme" not in r.text and "caption" not in r.text
        for pid in ids:
            assert beta.get(f"/v1/collections/mine/points/{pid}/image").status_code == 404
        # beta, by path: acme's folder, the server's files, anything outside its own folder — refused alike.
        data = tmp_path / "data"
        for path in (str(acme_dir), str(acme_dir / "holiday"), "../acme/holiday", str(data), str(data / "uploads"),
                     str(data / "signifier.db"), str(data / "thumbnails"), "/etc", "~", "/proc/self/environ"):
            r = beta.post("/v1/collections/mine/ingest", json={"path": path})
            assert r.status_code in (403, 422), (path, r.status_code, r.text)
            assert r.status_code == 403 or UNREADABLE in r.text, (path, r.text)
            if not path.startswith(str(data)):  # a path is echoed only as given: never the data dir's
                assert str(data) not in r.text, (path, r.text)
        # Manifest rows in beta's own folder that point at acme's files are failed items, not stored points.
        manifest = tmp_path / "srv" / "images" / "beta" / "m.jsonl"
        rows = [str(acme_dir / "holiday" / "a.png"), "../acme/holiday/a.png", str(next(data.rglob("*.jpg")))]
        manifest.write_text("".join(f'{{"path": "{p}", "alt_text": "x"}}\n' for p in rows))
        r = beta.post("/v1/collections/mine/ingest", json={"path": "m.jsonl"})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 60
        while (j := beta.get(f"/v1/jobs/{r.json()['job_id']}").json())["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, j
            time.sleep(0.2)
        assert j["done"] == 0 and j["failed"] == 3, j
        assert beta.get("/v1/collections/mine").json()["points"] == 0
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)

