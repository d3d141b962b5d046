"""Zero-shot classification and similarity matrices through the real app."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from services.accounts.principal import LOCAL_OWNER
from services.jobs.kinds import ClassifySource
from services.shapes.world import COLORS
from tests.integration.query_helpers import b64, mini_collection, ok, png, share, wait_job  # noqa: F401

pytestmark = pytest.mark.integration

MISSING = "0e7c8b1e-3f7e-4a56-9c1e-000000000000"


def test_classify_gives_the_right_colour(api, encoder) -> None:  # type: ignore[no-untyped-def]
    cases = [(c, s) for c in COLORS for s in ("circle", "square")]
    images = [b64(png(c, s, seed=i)) for i, (c, s) in enumerate(cases)]
    res = ok(api.post("/v1/classify", json={"images": images, "labels": list(COLORS)}))
    right = sum(r["top_label"] == c for r, (c, _) in zip(res["results"], cases, strict=True))
    assert right >= 0.9 * len(cases)
    assert res["logit_scale"] == pytest.approx(encoder.logit_scale)
    for r in res["results"]:
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert max(r["probabilities"], key=r["probabilities"].get) == r["top_label"]
        assert max(r["similarities"], key=r["similarities"].get) == r["top_label"]
        assert all(-1 <= s <= 1 for s in r["similarities"].values())


def test_classify_stored_points_with_ensembles_and_templates(api) -> None:  # type: ignore[no-untyped-def]
    hits = ok(api.post("/v1/collections/shapes/search", json={"expression": '"a shape"', "limit": 30}))["hits"]
    images = [{"id": h["id"]} for h in hits]
    names = {"red": "red|a red thing", "green": "green", "blue": "blue"}  # ensemble, plain, explicit prompts
    labels = ["red|a red thing", "green", {"label": "blue", "prompts": ["blue", "a blue thing"]}, "yellow", "purple",
              "orange"]
    res = ok(
        api.post(
            "/v1/classify",
            json={"images": images, "labels": labels, "collection": "shapes", "templates": ["{}", "a {} shape"]},
        )
    )
    assert [r["image"] for r in res["results"]] == [h["id"] for h in hits]
    assert res["labels"] == ["red|a red thing", "green", "blue", "yellow", "purple", "orange"]
    truth = [names.get(h["payload"]["color"], h["payload"]["color"]) for h in hits]
    assert sum(r["top_label"] == t for r, t in zip(res["results"], truth, strict=True)) >= 0.9 * len(hits)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"images": ["{img}"], "labels": ["red"]}, 422, "at least 2"),
        ({"images": [], "labels": ["red", "blue"]}, 422, "at least one image"),
        ({"images": ["{img}"], "labels": ["red", "red"]}, 422, "twice"),
        ({"images": [{"id": MISSING}], "labels": ["a", "b"]}, 422, "no collection"),
        ({"images": [{"id": MISSING, "collection": "shapes"}], "labels": ["a", "b"]}, 404, "does not exist"),
        ({"images": [{"id": "x", "collection": "nope"}], "labels": ["a", "b"]}, 404, "nope"),
        ({"images": ["%%%"], "labels": ["a", "b"]}, 422, "base64"),
        ({"images": ["{img}"], "labels": ["a", "b"], "templates": ["no slot"]}, 422, "exactly once"),
    ],
)
def test_bad_classify_requests(api, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    body["images"] = [b64(png("red", "circle")) if i == "{img}" else i for i in body["images"]]
    r = api.post("/v1/classify", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]["message"]


def test_classify_a_collection_into_payload_then_filter(api, mini) -> None:  # type: ignore[no-untyped-def]
    r = api.post(f"/v1/collections/{mini}/classify", json={"set": "color", "labels": list(COLORS)})
    assert r.status_code == 202, r.text
    assert r.json()["fields"] == ["label_color", "label_color_p"]
    job = wait_job(api, r.json()["job_id"])
    assert (job["state"], job["total"], job["done"], job["failed"]) == ("done", 80, 80, 0)
    everything = ok(api.post(f"/v1/collections/{mini}/search", json={"expression": '"a shape"', "limit": 80}))["hits"]
    assert sum(h["payload"]["label_color"] == h["payload"]["color"] for h in everything) >= 0.9 * 80
    assert all(0 < h["payload"]["label_color_p"] <= 1 for h in everything)
    reds = ok(
        api.post(
            f"/v1/collections/{mini}/search",
            json={"expression": '"a shape"', "limit": 80, "filter": {"label_color": "red"}},
        )
    )["hits"]
    assert reds and all(h["payload"]["label_color"] == "red" for h in reds)
    assert share(reds, color="red") >= 0.9


def test_classify_job_refusals(api, mini) -> None:  # type: ignore[no-untyped-def]
    r = api.post(f"/v1/collections/{mini}/classify", json={"set": "bad name", "labels": ["a", "b"]})
    assert r.status_code == 422 and "label set" in r.json()["detail"]["message"]
    r = api.post("/v1/collections/nope/classify", json={"set": "x", "labels": ["a", "b"]})
    assert r.status_code == 404


def test_a_failed_classify_job_is_not_resumed_as_an_ingest(api, mini) -> None:  # type: ignore[no-untyped-def]
    runtime = api.app.state.runtime
    info = runtime.collections.get(LOCAL_OWNER, mini)
    source = ClassifySource.encode("color", ["red", "blue"], np.eye(2, 4, dtype=np.float32), 100.0, "image")
    job_id = runtime.jobs.create(LOCAL_OWNER, info.name, info.store_name, source)
    runtime.jobs.finish(job_id, "failed", message="interrupted")
    r = api.post(f"/v1/jobs/{job_id}/resume")
    assert r.status_code == 422 and "only ingestion jobs can be resumed" in r.json()["detail"]["message"]
    assert api.get(f"/v1/jobs/{job_id}").json()["state"] == "failed"


def test_similarity_matrix_rows_and_contrasts(api) -> None:  # type: ignore[no-untyped-def]
    body = {
        "images": [b64(png("red", "circle", "large")), b64(png("blue", "square", "small"))],
        "texts": ["red", "blue", "large", "small"],
        "row_labels": ["red circle", "blue square"],
        "contrasts": [["red circle", "blue square"]],
        "probabilities": True,
    }
    res = ok(api.post("/v1/similarity", json=body))
    (rc, bs) = res["matrix"]
    assert res["rows"] == ["red circle", "blue square"] and res["columns"] == body["texts"]
    assert rc[0] > rc[1] and rc[2] > rc[3]  # the large red circle is closer to "red" and to "large"
    assert bs[1] > bs[0] and bs[3] > bs[2]
    [c] = res["contrasts"]
    assert c["values"] == pytest.approx([a - b for a, b in zip(rc, bs, strict=True)], abs=1e-5)
    assert c["values"][0] > 0 > c["values"][1]
    assert all(sum(p) == pytest.approx(1, abs=1e-4) for p in res["probabilities"])
    r = api.post("/v1/similarity", json=body, headers={"accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["", *body["texts"]]
    assert rows[1][0] == "red circle" and float(rows[1][1]) == pytest.approx(rc[0], abs=1e-5)
    assert rows[3][0] == "red circle − blue square"


def test_similarity_with_stored_points_and_errors(api) -> None:  # type: ignore[no-untyped-def]
    hit = ok(api.post("/v1/collections/shapes/search", json={"expression": '"a purple star"', "limit": 1}))["hits"][0]
    body = {"images": [{"id": hit["id"], "collection": "shapes"}], "texts": list(COLORS)}
    res = ok(api.post("/v1/similarity", json=body))
    assert res["rows"] == [hit["id"]]
    assert res["columns"][max(range(6), key=lambda i: res["matrix"][0][i])] == hit["payload"]["color"]
    for body, fragment in [
        ({"images": [b64(png("red", "star"))], "texts": []}, "at least one text"),
        ({"images": [b64(png("red", "star"))], "texts": ["a"], "contrasts": [[0, 1]]}, "row 1"),
        ({"images": [b64(png("red", "star"))], "texts": ["a"], "row_labels": ["x", "y"]}, "row_labels"),
    ]:
        r = api.post("/v1/similarity", json=body)
        assert r.status_code == 422 and fragment in r.json()["detail"]["message"], r.text
