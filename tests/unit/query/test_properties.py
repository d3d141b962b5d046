"""Property tests: random trees and random source text round-trip; no input crashes the parser."""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from services.core.errors import ExpressionError  # noqa: E402
from services.query.ast import (  # noqa: E402
    CONCEPT_NAME_RE,
    AxisTerm,
    ConceptTerm,
    Ensemble,
    Expr,
    PointTerm,
    Scaled,
    Sum,
    Term,
    TextTerm,
    UploadTerm,
    WeightedTerm,
    linearize,
    to_text,
)
from services.query.parser import parse, parse_terms  # noqa: E402

LIMITS = {"max_chars": 1_000_000, "max_terms": 1_000_000}
# No example database: nothing is written into the repository, and runs stay fast (<1 s here).
FAST = settings(max_examples=100, deadline=None, database=None)

# --- random trees ------------------------------------------------------------------------------

prompt = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")
point_id = st.one_of(
    st.integers(0, 2**63).map(str),
    st.uuids().map(str),
    prompt,
)
leaf: st.SearchStrategy[Expr] = st.one_of(
    prompt.map(TextTerm),
    st.lists(prompt, min_size=2, max_size=3).map(lambda ts: Ensemble(tuple(ts))),
    st.builds(PointTerm, st.sampled_from(["image", "text"]), point_id),
    st.integers(0, 20).map(UploadTerm),
    st.from_regex(CONCEPT_NAME_RE, fullmatch=True).map(ConceptTerm),
)
weight = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 0.5, -0.3, 2.0]),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda xs: Sum(tuple(xs))),
        st.builds(Scaled, weight, children),
        st.builds(AxisTerm, children, children),
    )


trees = st.recursive(leaf, _extend, max_leaves=12)


@FAST
@given(trees)
def test_random_trees_round_trip_through_text(tree: Expr) -> None:
    terms = linearize(tree)
    text = to_text(terms)
    assert parse_terms(text, **LIMITS) == terms
    assert to_text(parse(text, **LIMITS)) == text


def _key(term: Term) -> str:
    return to_text([WeightedTerm(1.0, term)])


def _evaluate(expr: Expr, vectors: dict[str, np.ndarray]) -> np.ndarray:
    if isinstance(expr, Sum):
        return sum((_evaluate(e, vectors) for e in expr.items), start=np.zeros(8))
    if isinstance(expr, Scaled):
        return expr.weight * _evaluate(expr.expr, vectors)
    return vectors[_key(expr)]


@FAST
@given(trees, st.integers(0, 2**32 - 1))
def test_linearize_preserves_the_vector(tree: Expr, seed: int) -> None:
    """Σ over the tree equals Σ wᵢ tᵢ over the linearized terms, for any vector per term."""
    rng = np.random.default_rng(seed)
    terms = linearize(tree)
    vectors: dict[str, np.ndarray] = {}
    for t in terms:
        vectors[_key(t.term)] = rng.standard_normal(8)
    flat = sum((t.weight * vectors[_key(t.term)] for t in terms), start=np.zeros(8))
    scale = 1.0 + sum(abs(t.weight) for t in terms)  # exact up to rounding of sums of this size
    np.testing.assert_allclose(_evaluate(tree, vectors), flat, atol=1e-9 * scale * 100)


# --- random source text --------------------------------------------------------------------------

ws = st.sampled_from(["", " ", "  ", "\t", "\n "])
number_text = st.one_of(
    st.integers(0, 99).map(str),
    st.floats(0.01, 100, allow_nan=False).map(lambda v: f"{v:.3g}"),
    st.sampled_from([".5", "2.", "1e-2", "1E+1", "0.25"]),
)
quoted = prompt.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
src_leaf = st.one_of(
    quoted,
    st.lists(quoted, min_size=2, max_size=3).map(" | ".join),
    st.builds(lambda k, i: f"{k}({i})", st.sampled_from(["image", "text", "Image"]), st.integers(0, 10**6)),
    st.builds(lambda k, u: f"{k}({u})", st.sampled_from(["image", "text"]), st.uuids().map(str)),
    st.integers(0, 9).map(lambda i: f"upload({i})"),
    st.from_regex(CONCEPT_NAME_RE, fullmatch=True).map(lambda n: f"@{n}"),
)


def _extend_src(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, o, b, s1, s2: f"{a}{s1}{o}{s2}{b}", children, st.sampled_from("+-"), children, ws, ws),
        st.builds(lambda n, a, s: f"{n}{s}*{s}{a}", number_text, children, ws),
        st.builds(lambda a, n, s: f"{a}{s}*{s}{n}", children, number_text, ws),
        st.builds(lambda a, s: f"{a}{s}/{s}4", children, ws),
        st.builds(lambda a, s: f"({s}{a}{s})", children, ws),
        children.map(lambda a: f"-{a}"),
        st.builds(lambda a, b, s: f"axis({s}{a},{s}{b}{s})", children, children, ws),
    )


sources = st.recursive(src_leaf, _extend_src, max_leaves=10)


@FAST
@given(sources, ws, ws)
def test_well_formed_sources_parse_and_round_trip(source: str, before: str, after: str) -> None:
    text = before + source + after
    terms = parse_terms(text, **LIMITS)
    assert parse_terms(to_text(terms), **LIMITS) == terms


# --- fuzz: anything else fails cleanly ------------------------------------------------------------

ALPHABET = "\"\\ ()*+-/|,.@0123456789eEabcdfgimotuxlp_#'\n"


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_arbitrary_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        expr = parse(text)
    except ExpressionError as err:
        assert 0 <= err.position <= len(text)
        assert err.message
        assert err.expression == text
        return
    terms = linearize(expr)
    assert parse_terms(to_text(terms)) == terms
