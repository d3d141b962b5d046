"""One behavioural suite, run against every store implementation (see conftest ``store``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from services.core.errors import AlreadyExists, CollectionNotFound, InvalidInput, PointNotFound
from services.core.types import PointRecord, l2_normalize
from services.vectorstore.base import CollectionSpec, VectorStore
from services.vectorstore.filters import Condition, Filter, Range, parse_filter
from tests.unit.vectorstore.conftest import DataSet, point_uuid

# --- collections ---------------------------------------------------------------------------------


def test_create_list_exists_delete(store: VectorStore) -> None:
    assert store.list_collections() == []
    store.create_collection(CollectionSpec(name="b-2", dim=8))
    store.create_collection(CollectionSpec(name="a_1", dim=8))
    assert store.list_collections() == ["a_1", "b-2"]
    assert store.collection_exists("a_1")
    assert not store.collection_exists("zzz")
    assert store.count("a_1") == 0

    store.delete_collection("a_1")
    assert store.list_collections() == ["b-2"]
    assert not store.collection_exists("a_1")


def test_recreate_after_delete_starts_empty(store: VectorStore) -> None:
    store.create_collection(CollectionSpec(name="c", dim=4))
    store.upsert("c", [PointRecord(id=point_uuid(1), vectors={"image": l2_normalize(np.ones(4))})])
    store.delete_collection("c")
    store.create_collection(CollectionSpec(name="c", dim=6))
    assert store.count("c") == 0
    store.upsert("c", [PointRecord(id=point_uuid(1), vectors={"image": l2_normalize(np.ones(6))})])
    assert store.count("c") == 1


def test_create_existing_raises_already_exists(store: VectorStore) -> None:
    store.create_collection(CollectionSpec(name="dup", dim=4))
    with pytest.raises(AlreadyExists):
        store.create_collection(CollectionSpec(name="dup", dim=4))


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.delete_collection("nope"),
        lambda s: s.count("nope"),
        lambda s: s.upsert("nope", [PointRecord(id=point_uuid(0), vectors={"image": np.ones(4, np.float32)})]),
        lambda s: s.upsert("nope", []),
        lambda s: s.retrieve("nope", [point_uuid(0)]),
        lambda s: s.search("nope", np.ones(4, np.float32)),
        lambda s: s.scroll("nope"),
        lambda s: s.delete_points("nope", [point_uuid(0)]),
        lambda s: s.set_payload("nope", point_uuid(0), {"a": 1}),
    ],
    ids=["delete", "count", "upsert", "upsert-empty", "retrieve", "search", "scroll", "delete-points", "set-payload"],
)
def test_missing_collection_raises_not_found(store: VectorStore, call: Callable[[VectorStore], object]) -> None:
    with pytest.raises(CollectionNotFound):
        call(store)


@pytest.mark.parametrize("name", ["", "-lead", "_lead", "has space", "../up", ".hidden", "x" * 65, "émoji", "a/b"])
def test_invalid_collection_names_rejected(store: VectorStore, name: str) -> None:
    with pytest.raises(InvalidInput):
        store.create_collection(CollectionSpec(name=name, dim=4))
    assert not store.collection_exists(name)
    with pytest.raises(InvalidInput):
        store.count(name)


def test_longest_valid_name_accepted(store: VectorStore) -> None:
    name = "A" + "b-_9" * 15 + "xyz"
    assert len(name) == 64
    store.create_collection(CollectionSpec(name=name, dim=4))
    assert store.list_collections() == [name]


# --- writing and reading points ----------------------------------------------------------------------


def test_upsert_same_id_twice_keeps_one_point(store: VectorStore) -> None:
    store.create_collection(CollectionSpec(name="c", dim=4))
    pid = point_uuid(5)
    store.upsert("c", [PointRecord(id=pid, vectors={"image": l2_normalize(np.ones(4))}, payload={"v": 1})])
    store.upsert("c", [PointRecord(id=pid, vectors={"image": l2_normalize(np.arange(4.0))}, payload={"v": 2})])
    assert store.count("c") == 1
    (rec,) = store.retrieve("c", [pid], with_vectors=True)
    assert rec.payload == {"v": 2}
    np.testing.assert_allclose(rec.vectors["image"], l2_normalize(np.arange(4.0)), atol=1e-6)


def test_upsert_canonicalises_uuid_ids(store: VectorStore) -> None:
    store.create_collection(CollectionSpec(name="c", dim=4))
    pid = point_uuid(9)
    store.upsert("c", [PointRecord(id=pid.upper(), vectors={"image": l2_normalize(np.ones(4))})])
    assert [r.id for r in store.retrieve("c", [pid.upper(), pid])] == [pid, pid]


@pytest.mark.parametrize(
    "bad",
    [
        PointRecord(id="not-a-uuid", vectors={"image": np.ones(4, np.float32)}),
        PointRecord(id=point_uuid(1), vectors={"image": np.ones(3, np.float32)}),
        PointRecord(id=point_uuid(1), vectors={"colour": np.ones(4, np.float32)}),
        PointRecord(id=point_uuid(1), vectors={}),
        PointRecord(id=point_uuid(1), vectors={"image": np.array([1, np.nan, 0, 0], np.float32)}),
        PointRecord(id=point_uuid(1), vectors={"image": np.ones(4, np.float32)}, payload={"x": float("nan")}),
        PointRecord(id=point_uuid(1), vectors={"image": np.ones(4, np.float32)}, payload={"x": {1, 2}}),
    ],
    ids=["bad-id", "wrong-dim", "unknown-vector", "no-vectors", "nan-vector", "nan-payload", "set-payload"],
)
def test_upsert_rejects_bad_points_and_writes_nothing(store: VectorStore, bad: PointRecord) -> None:
    store.create_collection(CollectionSpec(name="c", dim=4))
    good = PointRecord(id=point_uuid(2), vectors={"image": l2_normalize(np.ones(4))})
    with pytest.raises(InvalidInput):
        store.upsert("c", [good, bad])
    assert store.count("c") == 0


def test_retrieve_keeps_asked_order_and_skips_unknown(readonly: VectorStore, data: DataSet) -> None:
    asked = [data.ids[7], point_uuid(10_000), data.ids[3], "garbage", data.ids[450]]
    got = readonly.retrieve("pics", asked)
    assert [r.id for r in got] == [data.ids[7], data.ids[3], data.ids[450]]
    assert got[0].payload == data.payloads[7]
    assert got[0].vectors == {}
    assert readonly.retrieve("pics", []) == []


def test_retrieve_with_vectors_returns_float32_and_only_stored_vectors(readonly: VectorStore, data: DataSet) -> None:
    no_text, with_text = data.ids[0], data.ids[1]  # every third point has no alt-text vector
    a, b = readonly.retrieve("pics", [no_text, with_text], with_vectors=True)
    assert set(a.vectors) == {"image"}
    assert set(b.vectors) == {"image", "text"}
    assert b.vectors["text"].dtype == np.float32
    np.testing.assert_allclose(b.vectors["image"], data.image[1], atol=1e-6)
    np.testing.assert_allclose(b.vectors["text"], data.text[1], atol=1e-6)


def test_count_after_batches(readonly: VectorStore, data: DataSet) -> None:
    assert readonly.count("pics") == len(data.ids)


# --- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("using", ["image", "text"])
def test_search_is_exact_nearest_by_cosine(readonly: VectorStore, data: DataSet, using: str) -> None:
    for q in data.queries:
        hits = readonly.search("pics", q, using=using, limit=10)
        expected = data.brute_force(q, using)[:10]
        assert [h.id for h in hits] == [pid for pid, _ in expected]
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-4)


def test_search_scores_are_cosine_for_unnormalised_query(readonly: VectorStore, data: DataSet) -> None:
    q = data.queries[0] * 3.5  # cosine ignores the query's length
    hits = readonly.search("pics", q, limit=3)
    assert [h.id for h in hits] == [pid for pid, _ in data.brute_force(data.queries[0])[:3]]
    assert all(-1.0 <= h.score <= 1.0 for h in hits)


def test_search_own_vector_scores_one(readonly: VectorStore, data: DataSet) -> None:
    (top,) = readonly.search("pics", data.image[42], limit=1)
    assert top.id == data.ids[42]
    assert top.score == pytest.approx(1.0, abs=1e-4)
    assert top.payload == data.payloads[42]
    assert top.vectors is None


def test_text_search_skips_points_without_text_vector(readonly: VectorStore, data: DataSet) -> None:
    n_text = int(data.has_text.sum())
    hits = readonly.search("pics", data.queries[1], using="text", limit=len(data.ids))
    assert len(hits) == n_text
    without = {pid for pid, t in zip(data.ids, data.has_text, strict=True) if not t}
    assert not without & {h.id for h in hits}
    assert len(readonly.search("pics", data.queries[1], using="image", limit=len(data.ids))) == len(data.ids)


def test_search_with_vectors(readonly: VectorStore, data: DataSet) -> None:
    hits = readonly.search("pics", data.queries[2], using="text", limit=5, with_vectors=True)
    for h in hits:
        assert h.vectors is not None
        assert set(h.vectors) == {"text"}  # the searched vector only, not the point's image vector too
        i = data.ids.index(h.id)
        np.testing.assert_allclose(h.vectors["text"], data.text[i], atol=1e-6)
        assert float(h.vectors["text"] @ data.queries[2]) == pytest.approx(h.score, abs=1e-4)


def test_search_many_answers_each_query_as_search_does(readonly: VectorStore, data: DataSet) -> None:
    # Brute force, not ``search``, is the reference: each answer is exact, in the order of the queries.
    flt = Filter(must=(Condition("color", value="red"),))
    qs = [data.queries[7], -data.queries[7], data.queries[1]]
    many = readonly.search_many("pics", qs, using="text", limit=6, filter=flt, with_vectors=True)
    assert len(many) == 3
    for q, hits in zip(qs, many, strict=True):
        expected = data.brute_force(q, "text", where=lambda p: p["color"] == "red")[:6]
        assert [h.id for h in hits] == [pid for pid, _ in expected]
        for h in hits:
            assert h.vectors is not None and float(h.vectors["text"] @ q) == pytest.approx(h.score, abs=1e-4)
    assert readonly.search_many("pics", []) == []
    with pytest.raises(InvalidInput):
        readonly.search_many("pics", [data.queries[0], np.ones(3, dtype=np.float32)])
    with pytest.raises(CollectionNotFound):
        readonly.search_many("missing", [data.queries[0], data.queries[1]])


def test_search_paging_is_consistent(readonly: VectorStore, data: DataSet) -> None:
    q = data.queries[3]
    whole = [h.id for h in readonly.search("pics", q, limit=35)]
    paged = [h.id for k in range(5) for h in readonly.search("pics", q, limit=7, offset=7 * k)]
    assert paged == whole
    assert readonly.search("pics", q, limit=10, offset=len(data.ids)) == []
    tail = readonly.search("pics", q, limit=10, offset=len(data.ids) - 4)
    assert [h.id for h in tail] == [pid for pid, _ in data.brute_force(q)[-4:]]


@pytest.mark.parametrize(
    ("vector", "using", "limit", "offset"),
    [
        (np.ones(3, np.float32), "image", 10, 0),
        (np.ones(64, np.float32), "colour", 10, 0),
        (np.ones(64, np.float32), "image", 0, 0),
        (np.ones(64, np.float32), "image", 10, -1),
        (np.full(64, np.inf, np.float32), "image", 10, 0),
    ],
    ids=["wrong-dim", "unknown-vector", "zero-limit", "negative-offset", "inf"],
)
def test_search_rejects_bad_arguments(
    readonly: VectorStore, vector: np.ndarray, using: str, limit: int, offset: int
) -> None:
    with pytest.raises(InvalidInput):
        readonly.search("pics", vector, using=using, limit=limit, offset=offset)


# --- filters ---------------------------------------------------------------------------------------

FILTER_CASES: list[tuple[str, Filter, Callable[[dict[str, object]], bool]]] = [
    ("keyword", Filter(must=(Condition("color", value="red"),)), lambda p: p["color"] == "red"),
    ("integer", Filter(must=(Condition("width", value=64),)), lambda p: p["width"] == 64),
    ("bool-true", Filter(must=(Condition("has_text", value=True),)), lambda p: p["has_text"] is True),
    ("bool-false", Filter(must=(Condition("has_text", value=False),)), lambda p: p["has_text"] is False),
    ("float", Filter(must=(Condition("ratio", value=1.5),)), lambda p: p["ratio"] == 1.5),
    ("array-field", Filter(must=(Condition("labels", value="star"),)), lambda p: "star" in p["labels"]),  # type: ignore[operator]
    (
        "any-keyword",
        Filter(must=(Condition("color", any=("red", "blue")),)),
        lambda p: p["color"] in ("red", "blue"),
    ),
    ("any-integer", Filter(must=(Condition("width", any=(32, 320)),)), lambda p: p["width"] in (32, 320)),
    (
        "any-mixed",
        Filter(must=(Condition("shape", any=("star", 7, True)),)),
        lambda p: p["shape"] == "star",
    ),
    (
        "range",
        Filter(must=(Condition("ingested_at", range=Range(gte=1010.0, lt=1050.0)),)),
        lambda p: 1010.0 <= p["ingested_at"] < 1050.0,  # type: ignore[operator]
    ),
    (
        "range-on-integers",
        Filter(must=(Condition("height", range=Range(gt=150, lte=300)),)),
        lambda p: 150 < p["height"] <= 300,  # type: ignore[operator]
    ),
    ("must-not", Filter(must_not=(Condition("shape", value="circle"),)), lambda p: p["shape"] != "circle"),
    (
        "should",
        Filter(should=(Condition("color", value="green"), Condition("width", range=Range(gte=300)))),
        lambda p: p["color"] == "green" or p["width"] >= 300,  # type: ignore[operator]
    ),
    (
        "combined",
        Filter(
            must=(Condition("labels", any=("red", "yellow")),),
            should=(Condition("shape", value="star"), Condition("shape", value="square")),
            must_not=(Condition("width", range=Range(lt=100)),),
        ),
        lambda p: p["color"] in ("red", "yellow") and p["shape"] != "circle" and p["width"] >= 100,  # type: ignore[operator]
    ),
    ("no-match", Filter(must=(Condition("color", value="purple"),)), lambda p: False),
    ("missing-key", Filter(must_not=(Condition("nope", value="x"),)), lambda p: True),
]


@pytest.mark.parametrize(("flt", "where"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filtered_search_matches_brute_force(
    readonly: VectorStore, data: DataSet, flt: Filter, where: Callable[[dict[str, object]], bool]
) -> None:
    q = data.queries[4]
    expected = data.brute_force(q, where=where)[:20]
    hits = readonly.search("pics", q, limit=20, filter=flt)
    assert [h.id for h in hits] == [pid for pid, _ in expected]
    np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-4)


def test_filter_parsed_from_json(readonly: VectorStore, data: DataSet) -> None:
    flt = parse_filter({"color": ["red", "green"], "shape": "star"})
    q = data.queries[5]
    expected = data.brute_force(q, where=lambda p: p["color"] in ("red", "green") and p["shape"] == "star")
    hits = readonly.search("pics", q, limit=50, filter=flt)
    assert [h.id for h in hits] == [pid for pid, _ in expected[:50]]


def test_filtered_text_search_and_paging(readonly: VectorStore, data: DataSet) -> None:
    flt = Filter(must=(Condition("color", value="blue"),))
    q = data.queries[6]
    expected = [pid for pid, _ in data.brute_force(q, "text", where=lambda p: p["color"] == "blue")]
    pages = [h.id for k in range(4) for h in readonly.search("pics", q, "text", limit=9, offset=9 * k, filter=flt)]
    assert pages == expected[:36]


def test_empty_filter_is_no_filter(readonly: VectorStore, data: DataSet) -> None:
    q = data.queries[7]
    assert [h.id for h in readonly.search("pics", q, filter=Filter())] == [h.id for h in readonly.search("pics", q)]


# --- scroll, payload, deletion ----------------------------------------------------------------------


def test_scroll_visits_every_point_once(readonly: VectorStore, data: DataSet) -> None:
    seen: list[str] = []
    offset: str | None = None
    pages = 0
    while True:
        page, offset = readonly.scroll("pics", limit=37, offset=offset)
        seen.extend(r.id for r in page)
        pages += 1
        assert len(page) <= 37
        if offset is None:
            break
    assert pages == -(-len(data.ids) // 37)
    assert sorted(seen) == sorted(data.ids)
    assert seen == sorted(seen)  # ids ascend: both backends order by the UUID's value


def test_scroll_with_vectors_and_payload(readonly: VectorStore, data: DataSet) -> None:
    page, _ = readonly.scroll("pics", limit=5, with_vectors=True)
    for rec in page:
        i = data.ids.index(rec.id)
        assert rec.payload == data.payloads[i]
        np.testing.assert_allclose(rec.vectors["image"], data.image[i], atol=1e-6)


def test_scroll_empty_collection(store: VectorStore) -> None:
    store.create_collection(CollectionSpec(name="c", dim=4))
    assert store.scroll("c") == ([], None)


def test_set_payload_merges_keys(filled: VectorStore, data: DataSet) -> None:
    pid = data.ids[10]
    filled.set_payload("pics", pid, {"color": "purple", "note": "checked"})
    (rec,) = filled.retrieve("pics", [pid])
    assert rec.payload == {**data.payloads[10], "color": "purple", "note": "checked"}
    # The index sees the new value at once.
    hits = filled.search("pics", data.image[10], limit=5, filter=Filter(must=(Condition("color", value="purple"),)))
    assert [h.id for h in hits] == [pid]


def test_set_payload_on_missing_point_raises(filled: VectorStore) -> None:
    with pytest.raises(PointNotFound):
        filled.set_payload("pics", point_uuid(99_999), {"a": 1})
    with pytest.raises(PointNotFound):
        filled.set_payload("pics", "not-a-uuid", {"a": 1})
    assert filled.count("pics") == 500


def test_set_payload_rejects_non_json(filled: VectorStore, data: DataSet) -> None:
    with pytest.raises(InvalidInput):
        filled.set_payload("pics", data.ids[0], {"bad": float("inf")})


def test_delete_points(filled: VectorStore, data: DataSet) -> None:
    doomed = data.ids[:50]
    filled.delete_points("pics", [*doomed, point_uuid(77_777), "garbage"])
    assert filled.count("pics") == len(data.ids) - 50
    assert filled.retrieve("pics", doomed) == []
    q = data.queries[0]
    expected = [pid for pid, _ in data.brute_force(q) if pid not in set(doomed)][:10]
    assert [h.id for h in filled.search("pics", q, limit=10)] == expected
    filled.delete_points("pics", [])
    assert filled.count("pics") == len(data.ids) - 50
