"""AST: linearize (weights multiplied through, like terms merged), canonical text, round-trips."""

from __future__ import annotations

import pytest

from services.query.ast import (
    AxisTerm,
    ConceptTerm,
    Ensemble,
    PointTerm,
    Scaled,
    Sum,
    TextTerm,
    UploadTerm,
    WeightedTerm,
    canonical,
    canonical_point_id,
    format_number,
    from_terms,
    linearize,
    quote,
    to_text,
)
from services.query.parser import parse, parse_terms

A, B, C = TextTerm("a"), TextTerm("b"), TextTerm("c")


def test_linearize_multiplies_weights_through_nested_nodes() -> None:
    expr = Scaled(2.0, Sum((A, Scaled(-0.5, Sum((B, Scaled(3.0, C)))))))
    assert linearize(expr) == [(2.0, A), (-1.0, B), (-3.0, C)]


def test_linearize_merges_like_terms_in_first_appearance_order_and_keeps_zeros() -> None:
    expr = Sum((B, A, Scaled(-1.0, B), Scaled(0.5, A), Scaled(0.0, C)))
    assert linearize(expr) == [(0.0, B), (1.5, A), (0.0, C)]


def test_cancelled_weight_is_positive_zero() -> None:
    (wt,) = linearize(Sum((Scaled(-1.0, A), A)))
    assert wt.weight == 0.0 and str(wt.weight) == "0.0"


def test_linearize_keeps_the_first_position() -> None:
    (wt,) = parse_terms('"a" + "a"')
    assert wt.term.pos == 0


def test_axis_is_one_term_with_canonical_poles() -> None:
    hand_built = AxisTerm(Sum((A, A)), Scaled(1.0, B))
    assert hand_built.a == Scaled(2.0, A) and hand_built.b == B
    assert hand_built == AxisTerm(Scaled(2.0, A), B)
    assert linearize(Sum((Scaled(3.0, hand_built), AxisTerm(Scaled(0.5, Sum((A, A, A, A))), B)))) == [
        (4.0, AxisTerm(Scaled(2.0, A), B))
    ]


def test_from_terms_and_canonical() -> None:
    assert from_terms([WeightedTerm(1.0, A)]) == A
    assert from_terms([WeightedTerm(-1.0, A)]) == Scaled(-1.0, A)
    assert from_terms([WeightedTerm(1.0, A), WeightedTerm(0.5, B)]) == Sum((A, Scaled(0.5, B)))
    assert canonical(Scaled(0.5, Sum((A, A)))) == A
    with pytest.raises(ValueError):
        from_terms([])


@pytest.mark.parametrize(
    ("source", "canonical_text"),
    [
        ('"a person running" - 0.3*"winter"', '"a person running" - 0.3*"winter"'),
        ('"a person running"-"winter"*0.3', '"a person running" - 0.3*"winter"'),
        ('0.5*("a" - "b")', '0.5*"a" - 0.5*"b"'),
        ('-"a" + "b"', '-"a" + "b"'),
        ('"a"/2', '0.5*"a"'),
        ('"a" + "a"', '2*"a"'),
        ('"a" - "a"', '0*"a"'),
        ("2.50*image(0008421)", "2.5*image(8421)"),
        ('text("frame 1") - upload(2)', 'text("frame 1") - upload(2)'),
        ('image("0042")', 'image("0042")'),
        ("image(3F2A9C1E4B7D4E2A9C1E0123456789AB)", "image(3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab)"),
        ('image("3F2A9C1E-4B7D-4E2A-9C1E-0123456789AB")', 'image("3F2A9C1E-4B7D-4E2A-9C1E-0123456789AB")'),
        ("@happy - 1e-5*@sad", "@happy - 1e-05*@sad"),
        ('"cat"|"a cat"', '"cat" | "a cat"'),
        ('-0.5*"cat"|"a cat"', '-0.5*("cat" | "a cat")'),
        ('axis( "a"+"a" , ("b") )', 'axis(2*"a", "b")'),
        ('0.2 * AXIS("x", "y" - "z")', '0.2*axis("x", "y" - "z")'),
        (r'"q\"uo\\te"', r'"q\"uo\\te"'),
        ('1e20*"a"', '1e+20*"a"'),
        ('"a"/3', '0.3333333333333333*"a"'),
    ],
)
def test_to_text_is_canonical(source: str, canonical_text: str) -> None:
    assert to_text(parse(source)) == canonical_text


@pytest.mark.parametrize(
    "source",
    [
        '"a person running in front of trees" - 0.3*"winter" - "forest"*0.5',
        'image(8421) - 0.5*"forest"',
        'axis("happy", "sad") + 0.1*axis(axis("a", "b"), @c - upload(0))',
        '0.1*"a" + 0.2*"a" - 0.7*("b" | "c") / 3',
        '"x" - 1e-300*"y" + 123456789.123*@z',
        r'"a \"quoted\" \\ text" + text("id with \"quotes\"")',
    ],
)
def test_round_trip(source: str) -> None:
    terms = parse_terms(source)
    text = to_text(terms)
    assert parse_terms(text) == terms
    assert to_text(parse(text)) == text  # the canonical form is a fixed point


def test_to_text_accepts_terms_a_single_term_and_trees() -> None:
    terms = [WeightedTerm(1.0, A), WeightedTerm(-0.25, B)]
    assert to_text(terms) == to_text(tuple(terms)) == to_text(from_terms(terms)) == '"a" - 0.25*"b"'
    assert to_text(WeightedTerm(2.0, ConceptTerm("c"))) == "2*@c"
    with pytest.raises(ValueError):
        to_text([])


def test_format_number() -> None:
    assert [format_number(v) for v in (2.0, 0.3, 1e-5, 1e15, 0.1 + 0.2)] == [
        "2",
        "0.3",
        "1e-05",
        "1000000000000000.0",
        "0.30000000000000004",
    ]


def test_quote_escapes() -> None:
    assert quote('a"b\\c') == r'"a\"b\\c"'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8421", "8421"),
        ("000", "0"),
        ("3F2A9C1E-4B7D-4E2A-9C1E-0123456789AB", "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"),
        ("3f2a9c1e4b7d4e2a9c1e0123456789ab", "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"),
        ("abc", None),
        ("-1", None),
        ("12-34", None),
        ("٣", None),  # a non-ASCII digit is not an integer id
    ],
)
def test_canonical_point_id(raw: str, expected: str | None) -> None:
    assert canonical_point_id(raw) == expected


def test_term_constructors_validate() -> None:
    with pytest.raises(ValueError):
        TextTerm("  ")
    with pytest.raises(ValueError):
        Ensemble(("only one",))
    with pytest.raises(ValueError):
        Ensemble(("a", ""))
    with pytest.raises(ValueError):
        UploadTerm(-1)
    assert PointTerm("image", "1") != PointTerm("text", "1")
