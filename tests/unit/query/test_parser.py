"""Parser: every construct of the expression language, precedence, and the tree it builds."""

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
    linearize,
)
from services.query.parser import parse, parse_terms

A, B, C = TextTerm("a"), TextTerm("b"), TextTerm("c")


def terms(text: str) -> list[tuple[float, object]]:
    return [(w, t) for w, t in parse_terms(text)]


def test_single_text_term() -> None:
    assert parse('"a red circle"') == TextTerm("a red circle")


def test_text_keeps_inner_whitespace_and_unicode() -> None:
    assert parse('  " un chat  noir ☃ "  ') == TextTerm(" un chat  noir ☃ ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\\\""', '\\"'),
    ],
)
def test_string_escapes(text: str, expected: str) -> None:
    assert parse(text) == TextTerm(expected)


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ('0.3*"a"', 0.3),
        ('"a"*0.3', 0.3),
        ('-0.5*"a"', -0.5),
        ('"a"/2', 0.5),
        ('"a"/-4', -0.25),
        ('.5*"a"', 0.5),
        ('1e-2*"a"', 0.01),
        ('2.*"a"', 2.0),
        ('1E+1*"a"', 10.0),
        ('2*3*"a"', 6.0),
        ('2*"a"*3', 6.0),
        ('(1-0.25)*"a"', 0.75),
        ('(2+2)/8*"a"', 0.5),
        ('-"a"', -1.0),
        ('--"a"', 1.0),
        ('+"a"', 1.0),
        ('-(-"a")', 1.0),
        ('2*-"a"', -2.0),
        ('"a"*-2', -2.0),
        ('0*"a"', 0.0),
    ],
)
def test_weights(text: str, weight: float) -> None:
    assert terms(text) == [(pytest.approx(weight), A)]


def test_the_talks_example() -> None:
    expr = '"a person running in front of trees" - 0.3*"winter" - "forest"*0.5'
    assert terms(expr) == [
        (1.0, TextTerm("a person running in front of trees")),
        (-0.3, TextTerm("winter")),
        (-0.5, TextTerm("forest")),
    ]


def test_tree_shape_for_subtraction() -> None:
    assert parse('"a" - 0.3*"b"') == Sum((A, Scaled(-0.3, B)))


def test_weights_distribute_over_groups() -> None:
    assert terms('0.5*("a" - "b")') == [(0.5, A), (-0.5, B)]
    assert terms('2*("a" + "b")') == [(2.0, A), (2.0, B)]
    assert terms('("a" + "b")/2') == [(0.5, A), (0.5, B)]
    assert terms('-(0.5*"a" - 2*("b" - "c"))') == [(-0.5, A), (2.0, B), (-2.0, C)]


def test_nested_parentheses() -> None:
    assert terms('((("a")))') == [(1.0, A)]
    assert terms('2*(3*(0.5*("a" + ("b"))))') == [(3.0, A), (3.0, B)]


def test_precedence_product_before_sum() -> None:
    assert terms('"a" + 2*"b" - "c"*3') == [(1.0, A), (2.0, B), (-3.0, C)]
    assert terms('"a" - "b" - "c"') == [(1.0, A), (-1.0, B), (-1.0, C)]  # left-associative


def test_like_terms_merge_in_first_appearance_order() -> None:
    assert terms('"b" + "a" + "b"') == [(2.0, B), (1.0, A)]
    assert terms('"a" - "a"') == [(0.0, A)]


def test_whitespace_anywhere() -> None:
    packed = terms('-0.5*"a"+image(7)/2-@x')
    spaced = terms(' \t- 0.5 *\n"a" +  image (  7  )  / 2 -  @x ')
    assert packed == spaced == [(-0.5, A), (0.5, PointTerm("image", "7")), (-1.0, ConceptTerm("x"))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("image(8421)", PointTerm("image", "8421")),
        ("text(8421)", PointTerm("text", "8421")),
        ("image(0)", PointTerm("image", "0")),
        ("image(007)", PointTerm("image", "7")),
        (
            "image(3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab)",
            PointTerm("image", "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"),
        ),
        (
            "text(3F2A9C1E-4B7D-4E2A-9C1E-0123456789AB)",
            PointTerm("text", "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"),
        ),
        (
            "image(3f2a9c1e4b7d4e2a9c1e0123456789ab)",
            PointTerm("image", "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"),
        ),
        ('image("frame-0001.jpg")', PointTerm("image", "frame-0001.jpg")),
        ('text("a \\"b\\"")', PointTerm("text", 'a "b"')),
        ("IMAGE(5)", PointTerm("image", "5")),
        ("upload(0)", UploadTerm(0)),
        ("upload( 12 )", UploadTerm(12)),
        ("@happy", ConceptTerm("happy")),
        ("@warm_colours-2", ConceptTerm("warm_colours-2")),
        ("@2024", ConceptTerm("2024")),
    ],
)
def test_references(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_uuid_dashes_are_part_of_the_id_not_minus() -> None:
    uid = "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"
    assert terms(f'image({uid}) - 0.5*"forest"') == [
        (1.0, PointTerm("image", uid)),
        (-0.5, TextTerm("forest")),
    ]


def test_concept_name_stops_before_a_minus_that_is_an_operator() -> None:
    assert terms('@a -"b"') == [(1.0, ConceptTerm("a")), (-1.0, B)]
    assert terms("@a-b - @c") == [(1.0, ConceptTerm("a-b")), (-1.0, ConceptTerm("c"))]
    assert terms('@a-"b"') == [(1.0, ConceptTerm("a")), (-1.0, B)]


def test_axis() -> None:
    assert parse('axis("happy", "sad")') == AxisTerm(TextTerm("happy"), TextTerm("sad"))
    assert terms('0.5*axis("a" + "b", image(3) - 0.2*"c") + "d"') == [
        (0.5, AxisTerm(Sum((A, B)), Sum((PointTerm("image", "3"), Scaled(-0.2, C))))),
        (1.0, TextTerm("d")),
    ]


def test_axis_poles_are_canonical_so_equal_axes_merge() -> None:
    assert terms('axis(2*("a"), "b") + axis("a" + "a", ("b"))') == [
        (2.0, AxisTerm(Scaled(2.0, A), B)),
    ]


def test_nested_axis() -> None:
    inner = AxisTerm(A, B)
    assert parse('axis(axis("a", "b"), "c")') == AxisTerm(inner, C)


def test_ensemble() -> None:
    assert parse('"cat" | "a photo of a cat" | "a cat"') == Ensemble(("cat", "a photo of a cat", "a cat"))


def test_ensemble_binds_tighter_than_product() -> None:
    ens = Ensemble(("a", "b"))
    assert terms('0.5*"a" | "b"') == [(0.5, ens)]
    assert terms('"a" | "b"*2 - "c"') == [(2.0, ens), (-1.0, C)]
    assert terms('-("a"|"b")') == [(-1.0, ens)]


def test_ensembles_merge_only_when_written_alike() -> None:
    assert terms('"a"|"b" + "a"|"b" + "b"|"a"') == [
        (2.0, Ensemble(("a", "b"))),
        (1.0, Ensemble(("b", "a"))),
    ]


def test_positions_are_recorded_on_leaves() -> None:
    wt = parse_terms('"a" + image(5) - @c + upload(1) + "x"|"y" + axis("p", "q")')
    assert [t.term.pos for t in wt] == [0, 6, 17, 22, 34, 44]


def test_positions_do_not_affect_equality() -> None:
    assert TextTerm("a", pos=3) == TextTerm("a", pos=9)
    assert hash(TextTerm("a", pos=3)) == hash(TextTerm("a"))


def test_limits_are_inclusive() -> None:
    text = '"a" + "b" + "c"'
    assert parse(text, max_chars=len(text), max_terms=3)
    assert parse('"a" | "b"', max_terms=2)


def test_deep_but_allowed_nesting() -> None:
    depth = 60
    assert terms("(" * depth + '"a"' + ")" * depth) == [(1.0, A)]
    assert terms("-" * 500 + '"a"') == [(1.0, A)]  # unary signs are a loop, not recursion


def test_parse_terms_is_linearize_of_parse() -> None:
    (wt,) = parse_terms('0.3*"a"')
    assert isinstance(wt, WeightedTerm)
    assert wt.weight == 0.3 and wt.term == A
    text = '2*("a" - @b) + axis("c", image(1))'
    assert parse_terms(text) == linearize(parse(text))
