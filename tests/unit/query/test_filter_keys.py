"""Filter-key warnings against a fake store: exact when the sample is the whole collection, hedged when not."""

from __future__ import annotations

from services.core.settings import Limits
from services.core.types import PointRecord
from services.query.filter_keys import filter_fields, filter_key_warnings, top_level
from services.vectorstore.filters import parse_filter


class PagedStore:
    def __init__(self, payloads: list[dict[str, object]]) -> None:
        self.points = [PointRecord(id=str(i), payload=p) for i, p in enumerate(payloads)]
        self.scrolls = 0

    def scroll(self, name, limit=256, offset=None, with_vectors=False):  # type: ignore[no-untyped-def]
        self.scrolls += 1
        page = self.points[:limit]
        return page, (None if len(self.points) <= limit else str(limit))


def _filter(raw):  # type: ignore[no-untyped-def]
    return parse_filter(raw, Limits())


def test_top_level_fields_of_keys() -> None:
    assert [top_level(k) for k in ("color", "exif.iso", "tags[]", '"a b".x', "m[0].y")] == [
        "color",
        "exif",
        "tags",
        "a b",
        "m",
    ]
    f = _filter(
        {
            "must": [{"key": "a.b", "match": {"value": 1}}],
            "must_not": [{"key": "a", "match": {"value": 2}}],
            "should": [{"key": "c", "range": {"gt": 1}}],
        }
    )
    assert filter_fields(f) == ["a", "c"]


def test_an_unknown_key_of_a_fully_sampled_collection_is_named_exactly() -> None:
    store = PagedStore([{"color": "red", "shape": "circle"}, {"color": "blue", "size": 3}])
    [w] = filter_key_warnings(store, "s", "shapes", _filter({"colr": "red", "size": 3}))  # type: ignore[arg-type]
    assert w.startswith("filter key 'colr' is not a payload key of collection 'shapes'")
    assert "did you mean 'color'?" in w and w.endswith("Known keys: color, shape, size")


def test_a_partial_sample_is_said_to_be_one_and_no_filter_costs_nothing() -> None:
    store = PagedStore([{"color": "red"}] * 5)
    [w] = filter_key_warnings(store, "s", "shapes", _filter({"zzz": 1}), sample=2)  # type: ignore[arg-type]
    assert "is in none of the 2 payloads sampled from collection 'shapes'" in w and "did you mean" not in w
    assert filter_key_warnings(store, "s", "shapes", None) == []  # type: ignore[arg-type]
    assert filter_key_warnings(store, "s", "shapes", _filter({})) == []  # type: ignore[arg-type]
    assert store.scrolls == 1
    assert filter_key_warnings(PagedStore([]), "s", "empty", _filter({"x": 1})) == []  # type: ignore[arg-type]


def test_many_known_keys_are_listed_with_their_count() -> None:
    store = PagedStore([{f"k{i:02d}": i for i in range(40)}])
    [w] = filter_key_warnings(store, "s", "c", _filter({"nothing_like_it": 1}))  # type: ignore[arg-type]
    assert "k29, … (40 in all)" in w and "k30" not in w


def test_the_key_sample_is_reused_until_it_ages_and_never_warns_from_a_stale_one() -> None:
    from services.query.filter_keys import KeySamples

    now = [0.0]
    cache = KeySamples(ttl_s=10, clock=lambda: now[0])
    store = PagedStore([{"color": "red"}])
    for _ in range(3):
        assert filter_key_warnings(store, "s", "c", _filter({"color": "red"}), cache=cache) == []  # type: ignore[arg-type]
    assert store.scrolls == 1  # read once, reused
    # A key that arrived after the sample: the cached sample lacks it, so it is read again, and no warning.
    store.points.append(PointRecord(id="9", payload={"size": 3}))
    assert filter_key_warnings(store, "s", "c", _filter({"size": 3}), cache=cache) == []  # type: ignore[arg-type]
    assert store.scrolls == 2
    [w] = filter_key_warnings(store, "s", "c", _filter({"sise": 3}), cache=cache)  # type: ignore[arg-type]
    assert "did you mean 'size'" in w and store.scrolls == 3  # a real warning is checked against a fresh read
    now[0] = 11.0
    filter_key_warnings(store, "s", "c", _filter({"color": "red"}), cache=cache)  # type: ignore[arg-type]
    assert store.scrolls == 4  # aged out
