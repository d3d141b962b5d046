"""The duplicates and map jobs through the real app: results equal a numpy recomputation from the stored
vectors, they are stored and marked stale when the collection changes, and bad bodies are 4xx."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from services.accounts.principal import LOCAL_OWNER
from services.query.layout import pca_fit
from tests.integration.query_helpers import b64, mini_collection, ok, png, wait_job  # noqa: F401

pytestmark = pytest.mark.integration


def _all_vectors(api: Any, name: str) -> tuple[list[str], np.ndarray]:
    runtime = api.app.state.runtime
    store_name = runtime.collections.get(LOCAL_OWNER, name).store_name
    ids, rows, offset = [], [], None
    while True:
        page, offset = runtime.store.scroll(store_name, limit=500, offset=offset, with_vectors=True)
        ids += [p.id for p in page]
        rows += [p.vectors["image"] for p in page]
        if offset is None:
            return ids, np.stack(rows).astype(np.float32)


def _run(api: Any, name: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"/v1/collections/{name}/{kind}", json=body)
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["job_id"], timeout=600)
    assert job["state"] == "done", job
    assert job["done"] == job["total"] > 0
    return job


@pytest.mark.parametrize("threshold", [0.9, 0.97])
def test_duplicate_groups_equal_the_connected_components(api, threshold: float) -> None:  # type: ignore[no-untyped-def]
    job = _run(api, "shapes", "duplicates", {"threshold": threshold})
    got = ok(api.get("/v1/collections/shapes/duplicates", params={"limit": 1000}))
    assert got["job_id"] == job["job_id"] and got["state"] == "done" and not got["stale"]
    ids, x = _all_vectors(api, "shapes")
    _, labels = connected_components(csr_matrix(x @ x.T >= threshold), directed=False)
    expected = {frozenset(ids[i] for i in np.flatnonzero(labels == c)) for c in np.unique(labels)}
    expected = {g for g in expected if len(g) > 1}
    assert expected, "the threshold should find some groups on the shapes collection"
    assert {frozenset(g["ids"]) for g in got["groups"]} == expected
    assert got["total_groups"] == len(expected)
    assert got["duplicates"] == sum(len(g) - 1 for g in expected)
    sizes = [len(g["ids"]) for g in got["groups"]]
    assert sizes == sorted(sizes, reverse=True)
    for g in got["groups"]:
        assert threshold <= g["min_similarity"] <= g["max_similarity"] <= 1.0 + 1e-5
    page = ok(api.get("/v1/collections/shapes/duplicates", params={"offset": 1, "limit": 2}))
    assert page["groups"] == got["groups"][1:3]


def test_map_is_stored_with_pca_then_umap_and_goes_stale(api, mini: str) -> None:  # type: ignore[no-untyped-def]
    assert api.get(f"/v1/collections/{mini}/map").status_code == 404
    job = _run(api, mini, "map", {"clusters": 4})
    assert job["total"] == 2 * ok(api.get(f"/v1/collections/{mini}"))["points"]
    m = ok(api.get(f"/v1/collections/{mini}/map"))
    assert m["job_id"] == job["job_id"] and m["method"] == "umap" and m["final"] and not m["stale"]
    ids, x = _all_vectors(api, mini)
    assert sorted(m["ids"]) == sorted(ids)
    assert len(m["x"]) == len(m["y"]) == len(m["cluster"]) == len(ids)
    assert min(m["x"]) == 0.0 and max(m["x"]) == 1.0 and min(m["y"]) == 0.0 and max(m["y"]) == 1.0
    assert sorted(c["id"] for c in m["clusters"]) == [0, 1, 2, 3]
    assert sum(c["size"] for c in m["clusters"]) == len(ids)
    assert all(c["label"] and c["words"] for c in m["clusters"]), m["clusters"]
    # The layout keeps neighbourhoods: a point's nearest neighbour on the map is mostly among its 10 nearest
    # in the embedding (chance: 10 of n - 1). This checks UMAP itself, not how k-means happened to cut.
    xy = np.stack([m["x"], m["y"]], axis=1)
    order = {pid: i for i, pid in enumerate(ids)}
    vec = x[[order[pid] for pid in m["ids"]]]
    d_map = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(d_map, np.inf)
    sim = vec @ vec.T
    np.fill_diagonal(sim, -np.inf)
    true10 = np.argsort(-sim, axis=1)[:, :10]
    kept = np.mean([d_map[i].argmin() in true10[i] for i in range(len(vec))])
    assert kept >= 0.5, f"only {kept:.2f} of map neighbours are embedding neighbours (chance {10 / (len(vec) - 1):.2f})"

    # A PCA-only map equals numpy's projection on the two principal axes (scaled to [0, 1]).
    _run(api, mini, "map", {"method": "pca"})
    p = ok(api.get(f"/v1/collections/{mini}/map"))
    assert p["method"] == "pca" and p["final"]
    order = [ids.index(i) for i in p["ids"]]
    expected = pca_fit(x[order]).project(x[order]).astype(np.float64)
    expected = (expected - expected.min(axis=0)) / (expected.max(axis=0) - expected.min(axis=0))
    np.testing.assert_allclose(np.stack([p["x"], p["y"]], axis=1), expected, atol=2e-4)
    centred = x[order].astype(np.float64) - x[order].mean(axis=0)
    top2 = np.linalg.svd(centred, full_matrices=False)[0][:, :2]  # independent: SVD, not the covariance
    for axis in range(2):
        assert abs(np.corrcoef(top2[:, axis], expected[:, axis])[0, 1]) > 0.999

    # Ingesting more points makes the stored map stale until it is computed again.
    before = set(_all_vectors(api, mini)[0])
    r = api.post(
        f"/v1/collections/{mini}/ingest", files=[("files", ("new.png", png("red", "star", seed=991), "image/png"))]
    )
    assert r.status_code == 202, r.text
    assert wait_job(api, r.json()["job_id"])["state"] == "done"
    assert ok(api.get(f"/v1/collections/{mini}/map"))["stale"] is True
    # "mini" is shared with other modules (80 points, each with its shape payload): put it back as it was.
    runtime = api.app.state.runtime
    added = sorted(set(_all_vectors(api, mini)[0]) - before)
    assert len(added) == 1
    runtime.store.delete_points(runtime.collections.get(LOCAL_OWNER, mini).store_name, added)


def test_map_clusters_named_by_a_vocabulary(api, mini: str) -> None:  # type: ignore[no-untyped-def]
    _run(api, mini, "map", {"method": "pca", "clusters": 3, "vocabulary": ["red", "green", "blue", "circle"]})
    m = ok(api.get(f"/v1/collections/{mini}/map"))
    assert all(c["label"] in {"red", "green", "blue", "circle"} for c in m["clusters"])
    assert all(0 < c["probability"] <= 1 for c in m["clusters"])


@pytest.mark.parametrize(
    ("kind", "body", "status", "fragment"),
    [
        ("duplicates", {"threshold": 1.5}, 422, "less than or equal to 1"),
        ("duplicates", {"threshold": "high"}, 422, "valid number"),
        ("duplicates", {"vector": "audio"}, 422, "'image' or 'text'"),
        ("duplicates", {"extra": 1}, 422, "Extra inputs"),
        ("map", {"method": "tsne"}, 422, "'umap' or 'pca'"),
        ("map", {"clusters": -1}, 422, "greater than or equal to 0"),
        ("map", {"clusters": 65}, 422, "less than or equal to 64"),
        ("map", {"vocabulary": ["only one"]}, 422, "at least 2"),
    ],
)
def test_bad_job_bodies_are_422(api, kind: str, body: dict[str, Any], status: int, fragment: str) -> None:  # type: ignore[no-untyped-def]
    r = api.post(f"/v1/collections/shapes/{kind}", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.text


def test_unknown_collection_and_missing_results_are_404(api) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/v1/collections/nope/map", json={}).status_code == 404
    assert api.get("/v1/collections/nope/duplicates").status_code == 404
    assert api.post("/v1/collections", json={"name": "empty-one"}).status_code == 201
    r = api.post("/v1/collections/empty-one/map", json={})
    assert r.status_code == 422 and "empty" in r.text
    r = api.get("/v1/collections/empty-one/duplicates")
    assert r.status_code == 404 and "POST /v1/collections/empty-one/duplicates" in r.text
