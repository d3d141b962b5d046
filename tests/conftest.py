"""Shared fixtures: the bundled model, a generated sample collection, the real app over the embedded store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.settings import Settings

MODEL_DIR = Path(__file__).resolve().parent.parent / "services" / "shapes" / "model"


def artifacts_dir() -> Path:
    d = Path(os.environ.get("SIGNIFIER_TEST_ARTIFACTS", "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def shapes_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 fresh images of the shapes world (seed differs from training), with manifest.jsonl."""
    from services.shapes.world import write_samples

    out = tmp_path_factory.mktemp("samples")
    write_samples(out, 300, seed=4242)
    return out


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    from services.encoders.clip import ClipEncoder

    enc = ClipEncoder("shapes-clip", device="cpu")
    enc.load()
    return enc


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, model="shapes-clip", device="cpu", **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory, shapes_samples: Path, encoder) -> Iterator:  # type: ignore[no-untyped-def]
    """The real app (embedded Qdrant Edge, SQLite, shapes-clip) with collection ``shapes`` ingested."""
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    settings = make_settings(tmp_path_factory.mktemp("data"))
    with TestClient(create_app(settings, encoder=encoder)) as client:
        assert client.post("/v1/collections", json={"name": "shapes"}).status_code == 201
        r = client.post("/v1/collections/shapes/ingest", json={"path": str(shapes_samples / "manifest.jsonl")})
        assert r.status_code == 202, r.text
        client.app.state.runtime.queue.wait(r.json()["job_id"], timeout=300)  # type: ignore[attr-defined]
        yield client
