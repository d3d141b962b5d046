"""``from signifier import Client`` against a live ``signifier serve`` (its own process, the bundled model)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from services.shapes.world import write_samples
from signifier import Client, NotFoundError
from tests.security.support import SharedServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SharedServer, Client]]:
    server = SharedServer(tmp_path_factory.mktemp("pyclient"))
    with server, Client(server.url, api_key=server.keys[("alpha", "owner")]) as client:
        yield server, client


@pytest.fixture(scope="module")
def shapes(live: tuple[SharedServer, Client]) -> str:
    server, client = live
    folder = server.roots / "alpha" / "shapes"
    write_samples(folder, 60, seed=7)
    job = client.ingest("shapes", folder).wait(poll_s=0.2, timeout_s=180)
    assert job.state == "done" and job.done == 60 and (job.stored, job.skipped) == (60, 0), job
    return "shapes"


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
