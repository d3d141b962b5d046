"""Helpers for the meaning-math integration tests: rendered shapes, base64, a small second collection."""

from __future__ import annotations

import base64
import io
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from services.shapes.world import ShapeSpec, render


def png(color: str, shape: str, size: str = "large", background: str = "desert", seed: int = 0) -> bytes:
    """A freshly rendered image of the shapes world (not one of the collection's)."""
    buf = io.BytesIO()
    render(ShapeSpec(color, shape, size, background), random.Random(seed)).save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def share(hits: list[dict[str, Any]], **attrs: str) -> float:
    return sum(all(h["payload"][k] == v for k, v in attrs.items()) for h in hits) / max(1, len(hits))


def matched(hits: list[dict[str, Any]], **attrs: str) -> float:
    """How many of ``attrs`` the hits share on average (chance for all four attributes: ~1.2 of 4)."""
    return sum(sum(h["payload"][k] == v for k, v in attrs.items()) for h in hits) / max(1, len(hits))


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out


def wait_job(client: Any, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def subset_manifest(samples: Path, out: Path, count: int) -> Path:
    """A manifest of the first ``count`` samples (paths made absolute)."""
    lines = (samples / "manifest.jsonl").read_text().splitlines()[:count]
    rows = []
    for line in lines:
        row = json.loads(line)
        row["path"] = str((samples / row["path"]).resolve())
        rows.append(json.dumps(row))
    out.write_text("\n".join(rows) + "\n")
    return out


def ingest_collection(client: Any, name: str, manifest: Path) -> None:
    r = client.post("/v1/collections", json={"name": name})
    assert r.status_code == 201, r.text
    r = client.post(f"/v1/collections/{name}/ingest", json={"path": str(manifest)})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=300)
    assert job["state"] == "done", job


@pytest.fixture(scope="session", name="mini")
def mini_collection(api, shapes_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]
    """A second collection, "mini": the first 80 samples (tests here may change its templates and payload).

    Idempotent: test modules import this fixture, and each import is its own fixture to pytest.
    """
    if api.get("/v1/collections/mini").status_code == 200:
        return "mini"
    manifest = subset_manifest(shapes_samples, tmp_path_factory.mktemp("mini") / "manifest.jsonl", 80)
    ingest_collection(api, "mini", manifest)
    return "mini"
