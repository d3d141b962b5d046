"""The duplicates and map jobs at any size, on a real Qdrant Edge store with small batch and sample settings:
streamed over more than one batch, the duplicates job's kNN groups equal the all-pairs groups, and above
the sample size the map is fitted on the stated sample and places every point by the fitted projection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.core.settings import Limits
from services.jobs.kinds import DuplicatesSource, MapSource
from services.jobs.runners.base import JobContext
from services.jobs.runners.collection_map import SAMPLE_SEED, MapRunner
from services.jobs.runners.duplicates import DuplicatesRunner
from services.query.dedup import duplicate_groups
from services.query.layout import pca_fit
from services.query.scan import scan
from services.vectorstore.embedded import EmbeddedStore
from tests.unit.jobs.collection_data import MemoryResults, Recorder, all_vectors, filled_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = filled_store(tmp_path)
    yield s
    s.close()


@pytest.mark.parametrize("threshold", [0.9, 0.97])
def test_duplicates_from_batched_neighbour_searches_equal_all_pairs(store: EmbeddedStore, threshold: float) -> None:
    results, rec = MemoryResults(), Recorder()
    ctx = JobContext(store=store, results=results, limits=Limits(job_batch_points=64))
    src = DuplicatesSource(collection_id="c1", job_id="j1", threshold=threshold)
    outcome = DuplicatesRunner(src, "c", ctx).run(rec)
    assert outcome.done == 400
    assert [b for b, _ in rec.batches] == list(range(7)) and sum(n for _, n in rec.batches) == 400  # 7 batches
    got = results.saved[-1]
    ids, x = all_vectors(store)
    expected = duplicate_groups(x, threshold)
    assert len(expected[0].members) >= 60  # the big cluster: more neighbours than the first request asks
    assert {frozenset(g["ids"]) for g in got["groups"]} == {frozenset(ids[i] for i in g.members) for g in expected}
    assert got["total_groups"] == len(expected) and got["compared"] == 400
    assert got["searched"] == len({v.tobytes() for v in x}) < 400  # exact copies are not searched again
    by_ids = {frozenset(ids[i] for i in g.members): g for g in expected}
    for g in got["groups"]:
        want = by_ids[frozenset(g["ids"])]
        assert g["exact"] == want.exact
        assert g["min_similarity"] == pytest.approx(want.min_similarity, abs=2e-6)
        assert g["max_similarity"] == pytest.approx(want.max_similarity, abs=2e-6)
    sizes = [len(g["ids"]) for g in got["groups"]]
    assert sizes == sorted(sizes, reverse=True)
    assert any(g["exact"] for g in got["groups"]) or threshold < 0.97


def test_map_above_the_sample_size_is_fitted_on_the_stated_sample(store: EmbeddedStore) -> None:
    results, rec = MemoryResults(), Recorder()
    limits = Limits(layout_sample_points=100, job_batch_points=64)
    src = MapSource(collection_id="c1", job_id="j1", method="pca", clusters=5)
    MapRunner(src, "c", JobContext(store=store, results=results, limits=limits)).run(rec)
    assert sum(n for _, n in rec.batches) == 2 * 400  # the job's total: every point placed, then the layout
    assert len(rec.batches) > 2 and len({b for b, _ in rec.batches}) == len(rec.batches)
    m = results.saved[-1]
    assert (m["method"], m["final"], m["sampled"], m["sample_size"], m["seed"]) == ("pca", True, True, 100, 0)
    ids, x = all_vectors(store)
    assert sorted(m["ids"]) == sorted(ids) and len(m["x"]) == len(m["cluster"]) == 400
    pages, coverage = scan(store, "c", 100, seed=SAMPLE_SEED)
    sample = np.stack([p.vectors["image"] for page in pages for p in page])
    assert coverage.sampled and len(sample) == 100
    order = {pid: i for i, pid in enumerate(ids)}
    xy = pca_fit(sample).project(x[[order[p] for p in m["ids"]]]).astype(np.float64)
    xy = (xy - xy.min(axis=0)) / (xy.max(axis=0) - xy.min(axis=0))
    np.testing.assert_allclose(np.stack([m["x"], m["y"]], axis=1), xy, atol=2e-4)
    assert sum(c["size"] for c in m["clusters"]) == 400 and len(m["clusters"]) == 5


def test_map_at_most_the_sample_size_reads_every_point_once(store: EmbeddedStore) -> None:
    results, rec = MemoryResults(), Recorder()
    src = MapSource(collection_id="c1", job_id="j1", method="pca", clusters=3)
    MapRunner(src, "c", JobContext(store=store, results=results, limits=Limits(job_batch_points=64))).run(rec)
    m = results.saved[-1]
    assert (m["sampled"], m["sample_size"]) == (False, 400)
    assert sum(n for _, n in rec.batches) == 800
