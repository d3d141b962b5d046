"""HNSW by default: on CLIP-like data the graph finds the exact top 10 for every query kind (correctness only)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.clip_like import QUERY_KINDS, ClipLike, ClipLikeParams
from services.core.settings import QdrantSettings
from services.core.types import PointRecord
from services.vectorstore.base import CollectionSpec
from services.vectorstore.conversions import edge_filter
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.filters import parse_filter

N, DIM, K = 3_000, 64, 10


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    gen = ClipLike(N, ClipLikeParams(dim=DIM, clusters=30), seed=3)
    # The default layout, with thresholds shrunk so that 3,000 small vectors get a graph and are walked.
    index = QdrantSettings(indexing_kb=1, full_scan_kb=1)
    store = EmbeddedStore(
        tmp_path_factory.mktemp("hnsw"),
        flush_interval_s=0,
        optimize_after=None,
        hnsw_ef=index.hnsw_ef,
        hnsw_ef_filtered=index.hnsw_ef_filtered,
        index=index,
    )
    store.create_collection(CollectionSpec("c", DIM))
    images = []
    for start, img, txt in gen.chunks(1_000):
        store.upsert(
            "c",
            [
                PointRecord(
                    f"00000000-0000-0000-0000-{start + j:012d}",
                    {"image": img[j], "text": txt[j]},
                    {"labels": ["ten"] if (start + j) % 10 == 0 else []},
                )
                for j in range(len(img))
            ],
        )
        images.append(img)
    store.optimize("c")
    yield store, gen, np.concatenate(images)
    store.close()


def exact_top(x: np.ndarray, q: np.ndarray, rows: np.ndarray | None = None) -> set[str]:
    idx = np.arange(len(x)) if rows is None else rows
    best = idx[np.argsort(-(x[idx] @ q))[:K]]
    return {f"00000000-0000-0000-0000-{i:012d}" for i in best}


def test_the_default_layout_builds_a_graph(indexed) -> None:  # type: ignore[no-untyped-def]
    store, _, _ = indexed
    with store._use("c") as (_, shard):
        info = shard.info()
    assert info.indexed_vectors_count >= N


@pytest.mark.parametrize("kind", QUERY_KINDS)
def test_recall_at_10_for_every_query_kind(indexed, kind: str) -> None:  # type: ignore[no-untyped-def]
    store, gen, x = indexed
    queries = gen.queries(30, kind)
    recalls = [len({h.id for h in store.search("c", q, limit=K)} & exact_top(x, q)) / K for q in queries]
    assert np.mean(recalls) >= 0.95


def test_filtered_recall(indexed) -> None:  # type: ignore[no-untyped-def]
    store, gen, x = indexed
    rows = np.arange(0, N, 10)
    flt = parse_filter({"labels": "ten"})
    recalls = []
    for q in gen.queries(30, "text"):
        found = {h.id for h in store.search("c", q, limit=K, filter=flt)}
        recalls.append(len(found & exact_top(x, q, rows)) / K)
    assert np.mean(recalls) >= 0.95


def test_filtered_searches_widen_the_beam_by_the_share_they_keep(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from services.core.settings import Settings
    from services.vectorstore.factory import build_store
    from services.vectorstore.filters import Filter

    settings = Settings(data_dir=tmp_path, qdrant=QdrantSettings(hnsw_ef=64, hnsw_ef_filtered=300))
    store = build_store(settings)
    try:
        assert isinstance(store, EmbeddedStore)
        store.create_collection(CollectionSpec("c", 8))
        rng = np.random.default_rng(0)
        store.upsert(
            "c",
            [
                PointRecord(
                    f"00000000-0000-0000-0000-{i:012d}",
                    {"image": rng.standard_normal(8).astype(np.float32)},
                    {"labels": (["ten"] if i % 10 == 0 else []) + (["half"] if i % 2 == 0 else [])},
                )
                for i in range(1_000)
            ],
        )

        def beam(f: Filter | None) -> int:
            with store._use("c") as (_, shard):  # private: which beam a search would send
                params = store._params(edge_filter(f), shard)
            assert params is not None
            return int(params.hnsw_ef)

        assert beam(None) == 64
        assert beam(Filter()) == 64  # an empty filter is no filter
        assert beam(parse_filter({"labels": "ten"})) == 64  # 10 %: Qdrant's own filtered search carries it
        assert beam(parse_filter({"labels": "half"})) == 128  # 50 %: 64 / 0.5
        assert beam(parse_filter({"must_not": [{"key": "labels", "match": {"value": "ten"}}]})) == 72  # 90 %
        assert beam(parse_filter({"must_not": [{"key": "labels", "match": {"value": "half"}}]})) == 128
        # A filtered search still answers exactly what it was asked (the beam changes only the walk).
        q = rng.standard_normal(8).astype(np.float32)
        hits = store.search("c", q, limit=5, filter=parse_filter({"labels": "half"}))
        assert len(hits) == 5 and all(int(h.id[-12:]) % 2 == 0 for h in hits)
    finally:
        store.close()
