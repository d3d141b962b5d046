"""One model per collection, through the real app on both stores (Qdrant Edge, and qdrant-client's local
mode behind ``ServerStore``): a collection ingested by shapes-clip is refused with 409 — naming both models —
by a server running a tiny random CLIP of the same dim on every route that meets its vectors, and nothing
is written; the model that built it, and the other model on its own collection, are served."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from services.api.app import create_app
from services.encoders.clip import ClipEncoder
from services.vectorstore.base import VectorStore
from tests.conftest import make_settings
from tests.support.tiny_clip import tiny_clip_checkpoint

pytestmark = pytest.mark.integration

StoreFactory = Callable[[], VectorStore | None]


@pytest.fixture(scope="module")
def other_encoder(tmp_path_factory: pytest.TempPathFactory) -> ClipEncoder:
    """A CLIPModel with random weights and shapes-clip's dim (64): only the fingerprint tells them apart."""
    enc = ClipEncoder(str(tiny_clip_checkpoint(tmp_path_factory.mktemp("tiny-clip"))), device="cpu")
    enc.load()
    return enc


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from services.shapes.world import write_samples

    out = tmp_path_factory.mktemp("few")
    write_samples(out, 12, seed=77)
    return out


def _server_store(path: Path) -> StoreFactory:
    def build() -> VectorStore:
        from qdrant_client import QdrantClient

        from services.vectorstore.server import ServerStore

        return ServerStore(QdrantClient(path=str(path)))

    return build


@pytest.fixture(params=["embedded", "server"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A new store per app over the same data (each app's runtime closes its own when it stops)."""
    if request.param == "embedded":
        return lambda: None  # the app opens Qdrant Edge under the data dir
    return _server_store(tmp_path / "qdrant")


def _app(data: Path, encoder: ClipEncoder, stores: StoreFactory) -> TestClient:
    return TestClient(create_app(make_settings(data), encoder=encoder, store=stores()))


def _ingest(client: TestClient, name: str, path: Path) -> dict[str, Any]:
    r = client.post(f"/v1/collections/{name}/ingest", json={"path": str(path / "manifest.jsonl")})
    assert r.status_code == 202, r.text
    client.app.state.runtime.queue.wait(r.json()["job_id"], timeout=120)  # type: ignore[attr-defined]
    job: dict[str, Any] = client.get(f"/v1/jobs/{r.json()['job_id']}").json()
    assert job["state"] == "done", job
    return job


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(buf, format="PNG")
    return buf.getvalue()


def _requests(name: str, point: str, images: Path) -> dict[str, Callable[[TestClient], Any]]:
    """Every route that mixes the server's model with the collection's vectors (or stores new ones)."""
    ref = {"id": point, "collection": name}
    upload = base64.b64encode(_png()).decode()
    return {
        "ingest": lambda c: c.post(f"/v1/collections/{name}/ingest", json={"path": str(images / "manifest.jsonl")}),
        "ingest upload": lambda c: c.post(
            f"/v1/collections/{name}/ingest", files=[("files", ("a.png", _png(), "image/png"))]
        ),
        "search": lambda c: c.post(f"/v1/collections/{name}/search", json={"expression": '"a red circle"'}),
        "search by point": lambda c: c.post(f"/v1/collections/{name}/search", json={"expression": f"image({point})"}),
        "search upload": lambda c: c.post(
            f"/v1/collections/{name}/search", json={"expression": "upload(0)", "uploads": [upload]}
        ),
        "oppositions": lambda c: c.post(f"/v1/collections/{name}/oppositions", json={"a": '"red"', "b": '"blue"'}),
        "path": lambda c: c.post(f"/v1/collections/{name}/path", json={"expression": '"a star"', "limit": 5}),
        "concept": lambda c: c.put(f"/v1/collections/{name}/concepts/warm", json={"expression": '"red"'}),
        "classify job": lambda c: c.post(
            f"/v1/collections/{name}/classify", json={"set": "color", "labels": ["red", "blue"]}
        ),
        "classify points": lambda c: c.post("/v1/classify", json={"images": [ref], "labels": ["red", "blue"]}),
        "similarity": lambda c: c.post("/v1/similarity", json={"images": [ref], "texts": ["red", "blue"]}),
        "plane": lambda c: c.post(
            f"/v1/collections/{name}/plane", json={"x": {"a": '"red"', "b": '"blue"'}, "y": {"a": '"star"', "b": '"a"'}}
        ),
        "sweep": lambda c: c.post(
            f"/v1/collections/{name}/sweep", json={"expression": '"a circle"', "term": '"red"', "weights": [0, -1]}
        ),
        "map vocabulary": lambda c: c.post(
            f"/v1/collections/{name}/map", json={"method": "pca", "vocabulary": ["circle", "star"]}
        ),
    }


def _state(client: TestClient, name: str) -> tuple[int, int, int]:
    """(points, jobs, concepts) of the collection: what a refused request must leave unchanged."""
    points = client.get(f"/v1/collections/{name}").json()["points"]
    jobs = len(client.get("/v1/jobs", params={"collection": name}).json()["jobs"])
    concepts = len(client.get(f"/v1/collections/{name}/concepts").json()["concepts"])
    return points, jobs, concepts


def _first_point(client: TestClient, name: str) -> str:
    hits = client.post(f"/v1/collections/{name}/search", json={"expression": '"a circle"', "limit": 1}).json()
    return str(hits["hits"][0]["id"])


def test_another_model_gets_409_naming_both_and_nothing_is_written(
    tmp_path: Path, encoder: ClipEncoder, other_encoder: ClipEncoder, images: Path, stores: StoreFactory
) -> None:
    data = tmp_path / "data"
    with _app(data, encoder, stores) as a:
        assert a.post("/v1/collections", json={"name": "shapes"}).status_code == 201
        _ingest(a, "shapes", images)
        point = _first_point(a, "shapes")
        made_by_a = a.get("/v1/collections/shapes").json()
    assert made_by_a["model"] == "shapes-clip" and made_by_a["dim"] == 64
    assert made_by_a["family"] == "shapes-clip" and made_by_a["precision"] == "fp32"
    assert len(made_by_a["fingerprint"]) == 16

    with _app(data, other_encoder, stores) as b:
        before = _state(b, "shapes")
        assert before[0] == 12
        # Listing and describing the collection still work, and say which model made it.
        listed = {c["name"]: c for c in b.get("/v1/collections").json()["collections"]}
        assert listed["shapes"] == made_by_a
        for route, send in _requests("shapes", point, images).items():
            r = send(b)
            assert r.status_code == 409, f"{route}: {r.status_code} {r.text}"
            detail = r.json()["detail"]
            assert detail["code"] == "model_mismatch", route
            assert "'shapes-clip'" in detail["message"] and repr(other_encoder.model_id) in detail["message"], route
            assert detail["collection_model"]["model_id"] == "shapes-clip"
            assert detail["collection_model"]["digest"] == made_by_a["fingerprint"]
            assert detail["server_model"]["model_id"] == other_encoder.model_id
            assert detail["server_model"]["digest"] != made_by_a["fingerprint"]
            assert detail["server_model"]["image_dim"] == detail["collection_model"]["image_dim"] == 64
        assert _state(b, "shapes") == before
        # A map without a vocabulary reads stored vectors and alt-texts only (no model): served, named by words.
        r = b.post("/v1/collections/shapes/map", json={"method": "pca", "clusters": 2})
        assert r.status_code == 202, r.text
        b.app.state.runtime.queue.wait(r.json()["job_id"], timeout=60)  # type: ignore[attr-defined]
        got = b.get("/v1/collections/shapes/map").json()
        clusters = got["clusters"]
        assert all(c["probability"] is None and c["label"] == " ".join(c["words"]) != "" for c in clusters), clusters
        # The other model is served on a collection of its own.
        assert b.post("/v1/collections", json={"name": "random"}).status_code == 201
        _ingest(b, "random", images)
        assert b.post("/v1/collections/random/search", json={"expression": '"red"'}).status_code == 200
        assert b.get("/v1/collections/random").json()["fingerprint"] == detail["server_model"]["digest"]

    with _app(data, encoder, stores) as a2:  # the model that built it: served, and it refuses the other's
        for route, send in _requests("shapes", point, images).items():
            if route.startswith("ingest"):
                continue
            r = send(a2)
            assert r.status_code in (200, 201, 202), f"{route}: {r.status_code} {r.text}"
        assert a2.post("/v1/collections/random/search", json={"expression": '"red"'}).status_code == 409


def test_a_collection_without_a_fingerprint_is_adopted_by_its_model_id_only(
    tmp_path: Path, encoder: ClipEncoder, other_encoder: ClipEncoder, images: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    stores = _server_store(tmp_path / "qdrant")
    with _app(data, encoder, stores) as a:
        assert a.post("/v1/collections", json={"name": "old"}).status_code == 201
        _ingest(a, "old", images)
        digest = a.get("/v1/collections/old").json()["fingerprint"]
        with a.app.state.runtime.sessions.begin() as s:  # type: ignore[attr-defined]
            # As migration 0006 leaves a collection made before fingerprints.
            s.execute(text("UPDATE collections SET model_digest = NULL, model_family = NULL, model_precision = NULL"))
    with _app(data, other_encoder, stores) as b:
        assert b.get("/v1/collections/old").json()["fingerprint"] is None
        r = b.post("/v1/collections/old/search", json={"expression": '"red"'})
        assert r.status_code == 409 and r.json()["detail"]["collection_model"]["digest"] is None
        assert "no fingerprint recorded" in r.json()["detail"]["message"]
        assert b.get("/v1/collections/old").json()["fingerprint"] is None  # a refusal adopts nothing
    with _app(data, encoder, stores) as a2, caplog.at_level("WARNING", logger="services.catalog.collections"):
        assert a2.post("/v1/collections/old/search", json={"expression": '"red"'}).status_code == 200
        assert a2.get("/v1/collections/old").json()["fingerprint"] == digest
        assert any("adopted" in r.getMessage() for r in caplog.records)


def test_a_job_run_by_another_model_fails_with_the_reason_and_stores_nothing(
    tmp_path: Path, encoder: ClipEncoder, other_encoder: ClipEncoder, images: Path
) -> None:
    """A job that meets another model when it runs (queued, then resumed by a server restarted with another
    SIGNIFIER_MODEL; Celery workers run the same lifecycle, tests/integration/test_celery_model.py) fails
    with the reason before anything is embedded."""
    from services.accounts.principal import LOCAL_OWNER
    from services.jobs.kinds import PathSource
    from services.sources.grant import grant_for

    data = tmp_path / "data"
    with _app(data, encoder, lambda: None) as a:
        assert a.post("/v1/collections", json={"name": "shapes"}).status_code == 201
        _ingest(a, "shapes", images)
    with _app(data, other_encoder, lambda: None) as b:
        runtime = b.app.state.runtime  # type: ignore[attr-defined]
        info = runtime.collections.get(LOCAL_OWNER, "shapes")
        manifest = str(images / "manifest.jsonl")
        source = PathSource(path=manifest, target=manifest, grant=grant_for(runtime.settings, LOCAL_OWNER))
        job_id = runtime.jobs.create(LOCAL_OWNER, info.name, info.store_name, source)  # bypasses the route's 409
        runtime.queue.submit(job_id)
        runtime.queue.wait(job_id, timeout=60)
        job = b.get(f"/v1/jobs/{job_id}").json()
        assert job["state"] == "failed", job
        assert "'shapes-clip'" in job["message"] and repr(other_encoder.model_id) in job["message"], job
        assert b.get("/v1/collections/shapes").json()["points"] == 12
