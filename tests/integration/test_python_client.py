"""``from signifier import Client`` against a live ``signifier serve`` (its own process, the bundled model;
the ``live`` and ``live_shapes`` fixtures are in conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from signifier import Client, NotFoundError
from tests.security.support import SharedServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def shapes(live_shapes: str) -> str:
    return live_shapes


def test_a_reingest_is_typed_as_already_stored(live: tuple[SharedServer, Client], shapes: str) -> None:
    server, client = live
    job = client.ingest(shapes, server.roots / "alpha" / "shapes").wait(poll_s=0.2, timeout_s=180)
    assert (job.state, job.done, job.skipped, job.stored) == ("done", 60, 60, 0), job


def test_a_misspelt_filter_key_comes_back_as_a_typed_warning(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    res = client.search(shapes, '"a circle"', filter={"sorce": "x"})
    assert len(res) == 0 and len(res.warnings) == 1 and "did you mean 'source'?" in res.warnings[0], res.warnings
    assert client.search(shapes, '"a circle"', limit=3).warnings == []


def test_meaning_math_finds_blue_circles_and_renders_a_grid(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    res = client.search(shapes, '"a red circle" - "red" + "blue"', limit=5)
    assert len(res) == 5
    texts = [h.payload["alt_text"] for h in res.hits]
    assert "blue circle" in texts[0] and sum("blue" in t for t in texts) >= 4, texts
    page = res._repr_html_()
    assert page.count("<img ") == 5 and "data:image/jpeg;base64," in page
    assert f"{res.hits[0].score:.3f}" in page


def test_an_unknown_collection_is_not_found_with_the_server_message(live: tuple[SharedServer, Client]) -> None:
    _, client = live
    with pytest.raises(NotFoundError, match="collection 'nope' does not exist"):
        client.search("nope", '"red"')


def test_embed_gives_float32_rows_of_the_model_dim(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    vecs = client.embed(texts=["red", "a blue circle"])
    dim = client.api.request("GET", f"/v1/collections/{shapes}")["dim"]
    assert vecs.dtype == np.float32 and vecs.shape == (2, dim)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)


def test_oppositions_and_a_similarity_heatmap(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    opp = client.oppositions(shapes, '"red"', '"blue"', limit=3)
    assert all("red" in h.payload["alt_text"] for h in opp.a.hits)
    assert all("blue" in h.payload["alt_text"] for h in opp.b.hits)
    ids = [h.id for h in client.search(shapes, '"a red circle"', limit=2).hits]
    sim = client.similarity(ids, ["red", "blue"], collection=shapes)
    m = sim.to_numpy()
    assert m.shape == (2, 2) and (m[:, 0] > m[:, 1]).all()
    table = sim._repr_html_()
    assert table.startswith("<table") and f"{m[0, 0]:.3f}" in table and "<th>blue</th>" in table
    cls = client.classify(ids, ["red", "blue"], collection=shapes)
    assert [r.top_label for r in cls.results] == ["red", "red"]


def test_search_options_dedup_diversity_and_relative_scores(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    plain = client.search(shapes, '"a circle"', limit=8)
    assert plain.relative is None and all(h.z is None for h in plain.hits)
    # Every hit's cosine to the top one is ≥ −1: dedup at that threshold keeps the top hit alone.
    assert [h.id for h in client.search(shapes, '"a circle"', limit=8, dedup=True, dedup_threshold=-1.0).hits] == [
        plain.hits[0].id
    ]
    assert [h.id for h in client.search(shapes, '"a circle"', limit=8, diversity=0.0).hits] == [
        h.id for h in plain.hits
    ]
    rel = client.search(shapes, '"a circle"', limit=8, relative=True)
    assert rel.relative is not None and rel.relative.sample == rel.relative.points == 60
    zs = [h.z for h in rel.hits]
    assert all(z is not None for z in zs) and zs == sorted(zs, reverse=True)  # type: ignore[type-var]
    assert all(0 <= (h.percentile or -1) <= 100 for h in rel.hits)
    assert "z +" in rel._repr_html_() or "z -" in rel._repr_html_()
    cut = client.search(shapes, '"a circle"', limit=8, min_z=zs[3])
    assert len(cut) == 4 and cut.relative is not None and cut.relative.cut == 4
    bg = client.search(shapes, '"a circle"', limit=3, background=['"qwpoeiruty"'])
    assert bg.relative is not None and bg.relative.background and bg.hits[0].relative_score is not None


def test_plane_sweep_as_typed_results(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    plane = client.plane(shapes, x=('"large"', '"small"'), y=('"red"', '"blue"'))
    assert (plane.total, plane.placed, plane.sampled) == (60, 60, False)
    xy = plane.to_numpy()
    assert xy.shape == (60, 2) and xy.dtype == np.float32 and len(set(plane.ids)) == 60
    counts = {(q.x, q.y): q.count for q in plane.quadrants}
    assert counts[("a", "a")] == int(((xy[:, 0] > 0) & (xy[:, 1] > 0)).sum())
    reddish = next(q for q in plane.quadrants if (q.x, q.y) == ("b", "a")).extremes
    assert reddish and all(e.x < 0 < e.y for e in reddish)
    assert plane._repr_html_().count("<circle ") == 60
    assert client.plane(shapes, x=('"large"', '"small"'), y=('"red"', '"blue"'), limit=10, seed=3).placed == 10

    sweep = client.sweep(shapes, '"a circle"', '"red"', [0, -0.5, -1], limit=5)
    assert [s.weight for s in sweep.steps] == [0, -0.5, -1]
    # Weight 0 is the expression alone, and w the search of the composed expression: exactly those rankings.
    assert sweep.ranks()[0] == [h.id for h in client.search(shapes, '"a circle"', limit=5).hits]
    assert sweep.ranks()[-1] == [h.id for h in client.search(shapes, '"a circle" - 1*"red"', limit=5).hits]
    assert sweep._repr_html_().count("<tr>") == 6


def test_map_and_duplicates_jobs_from_the_client(live: tuple[SharedServer, Client], shapes: str) -> None:
    _, client = live
    job = client.compute_map(shapes, method="pca", clusters=3, vocabulary=["circle", "square", "triangle", "star"])
    assert job.kind == "map" and job.wait(poll_s=0.2, timeout_s=120, progress=False).state == "done"
    m = client.map(shapes)
    assert m.job_id == job.job_id and (m.method, m.final, m.stale) == ("pca", True, False)
    assert m.to_numpy().shape == (60, 2) and len(m.cluster) == 60
    assert len(m.clusters) == 3 and sum(c.size for c in m.clusters) == 60
    assert all(c.label in {"circle", "square", "triangle", "star"} and c.probability for c in m.clusters)

    dup = client.find_duplicates(shapes, threshold=0.9)
    assert dup.wait(poll_s=0.2, timeout_s=120, progress=False).state == "done"
    groups = client.duplicates(shapes, limit=1000)
    assert (groups.job_id, groups.compared, groups.threshold) == (dup.job_id, 60, 0.9)
    assert groups.duplicates == sum(len(g.ids) - 1 for g in groups.groups)
    assert all(g.min_similarity >= 0.9 for g in groups.groups)
