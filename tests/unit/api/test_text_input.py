"""Lone surrogates anywhere in a parsed JSON body are found, with the field and the character offset."""

from __future__ import annotations

import json

import pytest

from services.api.text_input import check_text, find_lone_surrogate
from services.core.errors import InvalidInput, InvalidText


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        ('{"texts": ["ok", "ab\\udc30"]}', ("texts.1", 2, "\udc30")),
        ('{"a": {"b": [{"c": "\\ud800"}]}}', ("a.b.0.c", 0, "\ud800")),
        ('{"filter": {"x\\udfffy": 1}}', ("filter (a key)", 1, "\udfff")),
        ('{"\\udc00": 1}', ("a key", 0, "\udc00")),
        ('"\\udc30"', ("", 0, "\udc30")),
        ('{"first": "\\udc01", "second": "\\udc02"}', ("first", 0, "\udc01")),  # document order
    ],
)
def test_finds_the_first_lone_surrogate(raw: str, found: tuple[str, int, str]) -> None:
    assert find_lone_surrogate(json.loads(raw)) == found


@pytest.mark.parametrize(
    "raw", ['{"t": "plain"}', '{"emoji": "\\ud83d\\ude00"}', "[1, 2.5, null, true]", '{"n": {"deep": ["é", "日本"]}}']
)
def test_valid_text_and_paired_escapes_pass(raw: str) -> None:
    assert find_lone_surrogate(json.loads(raw)) is None
    check_text(json.loads(raw))


def test_deep_nesting_costs_no_recursion() -> None:
    value: object = "\udc30"
    for _ in range(5000):
        value = [value]
    assert find_lone_surrogate(value) == (".".join(["0"] * 5000), 0, "\udc30")


def test_check_text_raises_a_422_error_with_field_and_position() -> None:
    with pytest.raises(InvalidText) as info:
        check_text({"texts": ["x\udc30"]})
    err = info.value
    assert isinstance(err, InvalidInput) and err.code == "invalid_text"
    assert (err.field, err.position) == ("texts.0", 1)
    assert "\\udc30" in err.message
    err.message.encode("utf-8")
