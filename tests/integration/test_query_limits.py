"""Every limit of the meaning-math endpoints, on an app with tiny limits: a 422/413 with a clear message."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from services.core.settings import Limits
from tests.conftest import make_settings
from tests.integration.query_helpers import b64, ingest_collection, png, subset_manifest

pytestmark = pytest.mark.integration

LIMITS = Limits(
    max_expression_chars=200,
    max_terms=4,
    max_limit=10,
    max_upload_bytes=30_000,
    max_image_pixels=100 * 100,
    max_images_per_request=2,
    max_labels=3,
    max_path_points=5,
    max_walk_steps=4,
    max_histogram_bins=3,
    scan_exact_points=10,
    max_concepts=2,
    max_templates=2,
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, shapes_samples: Path, encoder) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    settings = make_settings(tmp_path_factory.mktemp("small"), limits=LIMITS)
    with TestClient(create_app(settings, encoder=encoder)) as client:
        manifest = subset_manifest(shapes_samples, tmp_path_factory.mktemp("m") / "manifest.jsonl", 20)
        ingest_collection(client, "tiny", manifest)
        yield client


def noise_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def flat_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), "red").save(buf, "PNG")
    return buf.getvalue()


IMG = b64(png("red", "circle"))
BIG = b64(noise_png(150))  # ~67 KB, over the 30 KB cap
BOMB = b64(flat_png(200))  # tiny file, 40,000 pixels, over the 10,000-pixel cap

S, OPP, PATH = "/v1/collections/tiny/search", "/v1/collections/tiny/oppositions", "/v1/collections/tiny/path"
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("search", S, {"expression": '"' + "z" * 250 + '"'}, 422, "too long"),
    ("search", S, {"expression": " + ".join(f'"t{i}"' for i in range(5))}, 422, "terms"),
    ("search", S, {"expression": '"x"', "limit": 11}, 422, "at most 10"),
    ("search", S, {"expression": "upload(0)", "uploads": [BIG]}, 413, "30,000 bytes"),
    ("search", S, {"expression": "upload(0)", "uploads": [BOMB]}, 422, "decompression-bomb"),
    ("search", S, {"expression": "upload(0)", "uploads": [IMG] * 3}, 422, "at most 2 uploads"),
    ("oppositions", OPP, {"a": '"red"', "b": '"blue"', "limit": 11}, 422, "at most 10"),
    ("oppositions", OPP, {"a": '"red"', "b": '"blue"', "histogram": 4}, 422, "at most 3"),
    ("classify", "/v1/classify", {"images": [IMG], "labels": ["a", "b", "c", "d"]}, 422, "at most 3 labels"),
    ("classify", "/v1/classify", {"images": [IMG] * 3, "labels": ["a", "b"]}, 422, "at most 2 images"),
    ("classify", "/v1/classify", {"images": [BIG], "labels": ["a", "b"]}, 413, "30,000 bytes"),
    ("classify", "/v1/classify", {"images": [BOMB], "labels": ["a", "b"]}, 422, "decompression-bomb"),
    ("similarity", "/v1/similarity", {"images": [IMG], "texts": ["a", "b", "c", "d"]}, 422, "at most 3 texts"),
    ("similarity", "/v1/similarity", {"images": [IMG] * 3, "texts": ["a"]}, 422, "at most 2 images"),
    ("path", PATH, {"expression": '"x"', "limit": 6}, 422, "at most 5 points"),
    ("path", PATH, {"ids": [f"{i:08d}-0000-0000-0000-000000000000" for i in range(6)]}, 422, "at most 5"),
    ("path", PATH, {"walk": {"from": '"x"', "to": '"y"', "steps": 5}}, 422, "at most 4 steps"),
]


@pytest.mark.parametrize(("kind", "path", "body", "status", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_limits(small, kind, path, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    if path.endswith(("/search", "/oppositions")):
        body = {"limit": 5, **body}
    r = small.post(path, json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]["message"], r.text


def test_no_operation_refuses_a_collection_for_its_size(small) -> None:  # type: ignore[no-untyped-def]
    """20 points over scan_exact_points=10: histograms and means read a stated sample, jobs read everything."""
    r = small.post(OPP, json={"a": '"red"', "b": '"blue"', "limit": 5, "histogram": 3})
    assert r.status_code == 200, r.text
    h = r.json()["histogram"]
    assert h["points"] == sum(h["counts"]) == 10 and h["collection_points"] == 20 and h["cdf_error"] > 0
    assert small.post(S, json={"expression": '"x"', "center": True, "limit": 5}).status_code == 200
    modality = small.get("/v1/collections/tiny/modality").json()
    assert modality["points"] == 20 and modality["scanned"] == 10
    job = small.post("/v1/collections/tiny/classify", json={"set": "c", "labels": ["a", "b"]})
    assert job.status_code == 202, job.text


def test_multipart_limits(small) -> None:  # type: ignore[no-untyped-def]
    url = "/v1/collections/tiny/search"
    data = {"expression": "upload(0)", "limit": "5"}
    r = small.post(url, data=data, files=[("files", ("big.png", noise_png(150), "image/png"))])
    assert r.status_code == 413 and "30,000" in r.json()["detail"]["message"]
    r = small.post(url, data=data, files=[("files", ("bomb.png", flat_png(200), "image/png"))])
    assert r.status_code == 422 and "decompression-bomb" in r.json()["detail"]["message"]
    many = [("files", (f"{i}.png", png("red", "star", seed=i), "image/png")) for i in range(3)]
    r = small.post(url, data=data, files=many)
    assert r.status_code == 422 and "at most 2 uploaded files" in r.json()["detail"]["message"], r.text
    r = small.post(url, data=data, files=many[:2])
    assert r.status_code == 200, r.text


def test_concept_and_template_limits(small) -> None:  # type: ignore[no-untyped-def]
    for i in range(2):
        assert small.put(f"/v1/collections/tiny/concepts/c{i}", json={"expression": '"red"'}).status_code == 201
    r = small.put("/v1/collections/tiny/concepts/c2", json={"expression": '"red"'})
    assert r.status_code == 422 and "at most 2 concepts" in r.json()["detail"]["message"]
    assert small.put("/v1/collections/tiny/concepts/c0", json={"expression": '"blue"'}).status_code == 200  # replace ok
    r = small.put("/v1/collections/tiny/templates", json={"templates": ["{}", "a {}", "the {}"]})
    assert r.status_code == 422 and "at most 2 templates" in r.json()["detail"]["message"]
