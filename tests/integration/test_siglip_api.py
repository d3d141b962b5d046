"""A SigLIP checkpoint (tiny, random weights, real architecture) named by SIGNIFIER_MODEL goes through the real
app: ingest, search, embed, classify (sigmoid with the bias), similarity and oppositions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.core.scoring import sigmoid_probs
from services.core.settings import Settings
from tests.integration.query_helpers import b64, ok, png, subset_manifest, wait_job
from tests.support.checkpoints import siglip_checkpoint

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def siglip_api(tmp_path_factory: pytest.TempPathFactory, shapes_samples: Path) -> Iterator[tuple[Any, Any]]:
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    model = siglip_checkpoint(tmp_path_factory.mktemp("siglip"), image_size=48)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIGNIFIER_MODEL", str(model))
        mp.setenv("SIGNIFIER_DEVICE", "cpu")
        settings = Settings(data_dir=tmp_path_factory.mktemp("siglip-data"))
    assert settings.model == str(model)
    with TestClient(create_app(settings)) as client:
        manifest = subset_manifest(shapes_samples, tmp_path_factory.mktemp("m") / "manifest.jsonl", 40)
        assert client.post("/v1/collections", json={"name": "sig"}).status_code == 201
        r = client.post("/v1/collections/sig/ingest", json={"path": str(manifest)})
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["job_id"], timeout=300)
        assert job["state"] == "done" and job["failed"] == 0, job
        yield client, client.app.state.runtime.encoder  # type: ignore[attr-defined]


def test_the_server_runs_the_siglip_family(siglip_api) -> None:  # type: ignore[no-untyped-def]
    _, encoder = siglip_api
    assert encoder.family == "siglip" and encoder.image_size == 48 and encoder.scoring.kind == "sigmoid"


def test_search_and_embed(siglip_api) -> None:  # type: ignore[no-untyped-def]
    client, encoder = siglip_api
    hits = ok(client.post("/v1/collections/sig/search", json={"expression": '"a red circle"', "limit": 10}))["hits"]
    assert len(hits) == 10
    emb = ok(client.post("/v1/embed", json={"texts": ["a red circle"]}))
    vector = np.asarray(emb["vectors"][0])
    assert emb["dim"] == encoder.dim == len(vector)
    np.testing.assert_allclose(vector, encoder.encode_texts(["a red circle"])[0], atol=1e-5)


def test_classify_uses_the_sigmoid_with_the_bias(siglip_api) -> None:  # type: ignore[no-untyped-def]
    client, _ = siglip_api
    images = [b64(png("red", "circle", seed=1)), b64(png("blue", "square", seed=2))]
    res = ok(client.post("/v1/classify", json={"images": images, "labels": ["red", "blue", "green"]}))
    assert res["scoring"] == "sigmoid" and "independent" in res["note"]
    assert res["logit_bias"] == pytest.approx(-3.0) and res["logit_scale"] == pytest.approx(10.0, rel=1e-5)
    for r in res["results"]:
        sims = np.array([r["similarities"][k] for k in res["labels"]])
        want = sigmoid_probs(sims, res["logit_scale"], res["logit_bias"])
        np.testing.assert_allclose([r["probabilities"][k] for k in res["labels"]], want, rtol=1e-5)
        assert r["top_label"] == max(r["probabilities"], key=r["probabilities"].get)


def test_similarity_probabilities_and_a_classify_job(siglip_api) -> None:  # type: ignore[no-untyped-def]
    client, _ = siglip_api
    res = ok(
        client.post(
            "/v1/similarity",
            json={"images": [b64(png("red", "circle"))], "texts": ["red", "blue"], "probabilities": True},
        )
    )
    want = sigmoid_probs(np.array(res["matrix"]), 10.0, -3.0)
    np.testing.assert_allclose(res["probabilities"], want, rtol=1e-4)
    r = client.post("/v1/collections/sig/classify", json={"set": "color", "labels": ["red", "blue"]})
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"])["state"] == "done"
    hits = ok(client.post("/v1/collections/sig/search", json={"expression": '"red"', "limit": 5}))["hits"]
    for h in hits:
        assert h["payload"]["label_color"] in ("red", "blue") and 0.0 <= h["payload"]["label_color_p"] <= 1.0


def test_oppositions(siglip_api) -> None:  # type: ignore[no-untyped-def]
    client, _ = siglip_api
    res = ok(client.post("/v1/collections/sig/oppositions", json={"a": '"large"', "b": '"small"', "limit": 5}))
    assert res["a"]["hits"] and res["b"]["hits"]
    for h in res["a"]["hits"]:
        assert h["delta"] == pytest.approx(h["sim_a"] - h["sim_b"], abs=1e-4)
