"""The filter validator: counts, key syntax, values and range bounds, each refused with a precise 422."""

from __future__ import annotations

import math

import pytest

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.vectorstore.filters import Condition, Filter, Range, check_key, parse_filter

LIMITS = Limits(max_filter_conditions=4, max_filter_values=3)


@pytest.mark.parametrize("key", ["color", "exif.iso", "a-b_c", "tags[]", "a[0].b", "a[][1]", '"a b"', '"😀".x', "1"])
def test_payload_paths_qdrant_reads_are_accepted(key: str) -> None:
    assert check_key(key, "filter") == key


@pytest.mark.parametrize(
    "key", ["", "a[", "a..b", "[0]", "a b", "😀", "a\x00b", ".a", "a.", "a[x]", "a]", '"a', '""', "a[]]", "a\tb"]
)
def test_other_keys_are_refused_naming_the_key(key: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid payload key"):
        check_key(key, "filter")
    must_not = {"must_not": [{"key": key, "match": {"value": 1}}]}
    shapes = ({key: 1}, must_not, {"must": [{"key": key, "range": {"gt": 0}}]})
    for obj in shapes:
        with pytest.raises(InvalidInput, match="not a valid payload key"):
            parse_filter(obj, LIMITS)


def test_a_non_string_or_overlong_key_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be a string"):
        parse_filter({"must": [{"key": 3, "match": {"value": 1}}]}, LIMITS)
    with pytest.raises(InvalidInput, match="longer than 256"):
        check_key("a" * 257, "filter")


def test_conditions_are_counted_over_all_clauses_before_any_is_read() -> None:
    four = [{"key": "a", "match": {"value": 1}}] * 2
    assert parse_filter({"must": four, "should": four}, LIMITS) is not None
    with pytest.raises(InvalidInput, match="5 conditions, at most 4"):
        parse_filter({"must": four, "should": four, "must_not": [{"key": "b", "match": {"value": 1}}]}, LIMITS)
    with pytest.raises(InvalidInput, match="5 conditions"):
        parse_filter({f"k{i}": i for i in range(5)}, LIMITS)


def test_a_huge_filter_is_refused_before_any_condition_is_looked_at() -> None:
    """The count is checked first: none of the 200,000 entries (none of them a valid condition) is read."""
    huge = {"must": [object()] * 200_000}
    with pytest.raises(InvalidInput, match="200,000 conditions, at most 256"):
        parse_filter(huge)
    with pytest.raises(InvalidInput, match="a condition is an object"):
        parse_filter({"must": [object()]})  # the same entry under the cap is read, and refused as it is


def test_any_of_lists_are_bounded_and_not_empty() -> None:
    assert parse_filter({"c": ["a", "b", "c"]}, LIMITS) == Filter(must=(Condition("c", any=("a", "b", "c")),))
    with pytest.raises(InvalidInput, match="4 values, at most 3"):
        parse_filter({"c": ["a", "b", "c", "d"]}, LIMITS)
    with pytest.raises(InvalidInput, match=r"filter.must\[0\] \('c'\).match.any: 4 values"):
        parse_filter({"must": [{"key": "c", "match": {"any": [1, 2, 3, 4]}}]}, LIMITS)
    with pytest.raises(InvalidInput, match="non-empty"):
        parse_filter({"c": []}, LIMITS)


@pytest.mark.parametrize("bound", [math.nan, math.inf, -math.inf, 10**400, "1", "NaN", True, None])
def test_range_bounds_must_be_finite_json_numbers(bound: object) -> None:
    with pytest.raises(InvalidInput, match=r"filter.must\[0\] \('size'\).range.gte"):
        parse_filter({"must": [{"key": "size", "range": {"gte": bound}}]}, LIMITS)


def test_a_valid_range_is_read_as_floats() -> None:
    flt = parse_filter({"must": [{"key": "size", "range": {"gte": 1, "lt": 2.5}}]}, LIMITS)
    assert flt == Filter(must=(Condition("size", range=Range(gte=1.0, lt=2.5)),))


@pytest.mark.parametrize("value", [math.nan, math.inf, 2**63, -(2**63) - 1, {"a": 1}, [1]])
def test_match_values_are_finite_scalars_within_64_bits(value: object) -> None:
    with pytest.raises(InvalidInput):
        parse_filter({"must": [{"key": "v", "match": {"value": value}}]}, LIMITS)
    assert parse_filter({"v": 2**63 - 1}, LIMITS) == Filter(must=(Condition("v", value=2**63 - 1),))


def test_messages_quote_an_excerpt_of_huge_input() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filter({"must": ["x" * 100_000]}, LIMITS)
    assert len(info.value.message) < 400 and "100,002 characters" in info.value.message
