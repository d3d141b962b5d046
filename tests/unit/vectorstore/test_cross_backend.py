"""Both backends, same data, same questions: the answers must be identical (ids in the same order)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from services.vectorstore.base import CollectionSpec, VectorStore
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.filters import Condition, Filter, Range
from services.vectorstore.server import ServerStore
from tests.unit.vectorstore.conftest import BACKENDS, DataSet, fill, make_store

FILTERS = [
    None,
    Filter(must=(Condition("color", any=("red", "green")),)),
    Filter(must=(Condition("has_text", value=True),), must_not=(Condition("shape", value="star"),)),
    Filter(should=(Condition("width", range=Range(gte=250)), Condition("labels", value="blue"))),
]


@pytest.fixture
def pair(store_dir: Path, data: DataSet) -> Iterator[tuple[VectorStore, VectorStore]]:
    stores = [make_store(kind, store_dir / kind) for kind in BACKENDS]
    for s in stores:
        s.create_collection(CollectionSpec(name="pics", dim=data.dim))
        s.upsert("pics", data.records())
    yield stores[0], stores[1]
    for s in stores:
        s.close()


@pytest.mark.parametrize("using", ["image", "text"])
@pytest.mark.parametrize("flt", FILTERS, ids=["none", "any", "bool-and-not", "should"])
def test_same_hits_in_same_order(
    pair: tuple[VectorStore, VectorStore], data: DataSet, using: str, flt: Filter | None
) -> None:
    embedded, server = pair
    for q in data.queries[:4]:
        for offset in (0, 13):
            a = embedded.search("pics", q, using=using, limit=25, offset=offset, filter=flt, with_vectors=True)
            b = server.search("pics", q, using=using, limit=25, offset=offset, filter=flt, with_vectors=True)
            assert [h.id for h in a] == [h.id for h in b]
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
            assert [h.payload for h in a] == [h.payload for h in b]
            for ha, hb in zip(a, b, strict=True):
                assert ha.vectors is not None and hb.vectors is not None
                assert set(ha.vectors) == set(hb.vectors)
                for name in ha.vectors:
                    np.testing.assert_allclose(ha.vectors[name], hb.vectors[name], atol=1e-6)


def test_same_scroll_pages_and_retrieval(pair: tuple[VectorStore, VectorStore], data: DataSet) -> None:
    embedded, server = pair
    offsets: list[str | None] = [None]
    while offsets[-1] is not None or len(offsets) == 1:
        page_a, next_a = embedded.scroll("pics", limit=64, offset=offsets[-1])
        page_b, next_b = server.scroll("pics", limit=64, offset=offsets[-1])
        assert [(r.id, r.payload) for r in page_a] == [(r.id, r.payload) for r in page_b]
        assert next_a == next_b
        offsets.append(next_a)
    asked = data.ids[::37]
    assert [r.id for r in embedded.retrieve("pics", asked)] == [r.id for r in server.retrieve("pics", asked)]
    assert embedded.count("pics") == server.count("pics") == len(data.ids)


@pytest.mark.filterwarnings("ignore:Local mode performs exact")  # local mode has no HNSW to tune
def test_hnsw_ef_setting_is_accepted(store_dir: Path, data: DataSet) -> None:
    stores = [
        EmbeddedStore(store_dir / "e", flush_interval_s=30, optimize_after=None, hnsw_ef=256),
        ServerStore(QdrantClient(":memory:"), hnsw_ef=256),
    ]
    for s in stores:
        fill(s, data)
        expected = [pid for pid, _ in data.brute_force(data.queries[0])[:10]]
        assert [h.id for h in s.search("pics", data.queries[0])] == expected
        s.close()
