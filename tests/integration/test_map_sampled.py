"""A map above the sample size with UMAP, on a real Qdrant Edge store with small settings: UMAP is fitted on
the stated sample and the other points placed by its transform. Integration-marked, as the other UMAP
test is: numba compiles UMAP's fit and transform once per process (tens of seconds of CPU)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.core.settings import Limits
from services.jobs.kinds import MapSource
from services.jobs.runners.base import JobContext
from services.jobs.runners.collection_map import SAMPLE_SEED, MapRunner
from services.query.scan import scan
from services.vectorstore.embedded import EmbeddedStore
from tests.unit.jobs.collection_data import MemoryResults, Recorder, all_vectors, filled_store

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = filled_store(tmp_path)
    yield s
    s.close()


def test_a_sampled_umap_map_places_every_point_near_its_sample_neighbours(store: EmbeddedStore) -> None:
    """Above the sample size UMAP is fitted on the sample and the rest placed by its transform: the sample
    keeps its fitted places, and a placed point lands near the fitted places of its nearest sample points."""
    results, rec = MemoryResults(), Recorder()
    limits = Limits(layout_sample_points=120, job_batch_points=64)
    src = MapSource(collection_id="c1", job_id="j1", method="umap", clusters=4)
    MapRunner(src, "c", JobContext(store=store, results=results, limits=limits)).run(rec)
    assert [d["method"] for d in results.saved] == ["pca", "umap"] and results.saved[0]["final"] is False
    assert sum(n for _, n in rec.batches) == 800
    m = results.saved[-1]
    assert (m["final"], m["sampled"], m["sample_size"]) == (True, True, 120)
    ids, x = all_vectors(store)
    assert sorted(m["ids"]) == sorted(ids)
    pages, _ = scan(store, "c", 120, seed=SAMPLE_SEED)
    sample_ids = [p.id for page in pages for p in page]
    order = {pid: i for i, pid in enumerate(ids)}
    pos = {pid: i for i, pid in enumerate(m["ids"])}
    xy = np.stack([m["x"], m["y"]], axis=1)
    s_xy = xy[[pos[p] for p in sample_ids]]
    s_x = x[[order[p] for p in sample_ids]]
    rest = [p for p in m["ids"] if p not in set(sample_ids)]
    near = []
    for p in rest:
        nearest = np.argsort(-(s_x @ x[order[p]]))[:5]  # its 5 nearest sample points in the embedding
        d_near = np.linalg.norm(s_xy[nearest] - xy[pos[p]], axis=1).mean()
        d_all = np.linalg.norm(s_xy - xy[pos[p]], axis=1).mean()
        near.append(d_near < d_all)
    assert np.mean(near) > 0.8, f"only {np.mean(near):.2f} of placed points sit nearer their sample neighbours"
