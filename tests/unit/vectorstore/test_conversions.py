"""The one filter walk: which shape each neutral condition becomes, whatever the target's classes.

Behaviour per backend (the same answers from both) is the congruence suite's; this pins the rules."""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe
from qdrant_client import models

from services.vectorstore.conversions import EDGE, FilterTarget, qdrant_target, to_filter
from services.vectorstore.filters import parse_filter

# A target that builds plain tuples, so the walk's output can be compared as data.
SHAPES: FilterTarget[Any, Any] = FilterTarget(
    filter=lambda must, should, must_not: ("filter", must, should, must_not),
    any_of=lambda conditions: ("any_of", conditions),
    match_value=lambda key, value: ("value", key, value),
    match_any=lambda key, values: ("any", key, values),
    range=lambda key, r: ("range", key, r.gt, r.gte, r.lt, r.lte),
)


def test_rules_of_the_walk() -> None:
    f = parse_filter(
        {
            "must": [
                {"key": "color", "match": {"value": "red"}},
                {"key": "ratio", "match": {"value": 0.5}},
                {"key": "ok", "match": {"value": True}},
                {"key": "shape", "match": {"any": ["circle", "star"]}},
                {"key": "mixed", "match": {"any": [1, "one", True]}},
            ],
            "must_not": [{"key": "width", "range": {"gte": 100}}],
        }
    )
    assert to_filter(f, SHAPES) == (
        "filter",
        [
            ("value", "color", "red"),
            ("range", "ratio", None, 0.5, None, 0.5),  # a float matches as a one-point range
            ("value", "ok", True),
            ("any", "shape", ["circle", "star"]),
            ("any_of", [("value", "mixed", 1), ("value", "mixed", "one"), ("value", "mixed", True)]),
        ],
        None,
        [("range", "width", None, 100.0, None, None)],
    )
    assert to_filter(None, SHAPES) is None and to_filter(parse_filter({"must": []}), SHAPES) is None


def test_both_backends_get_their_own_classes() -> None:
    f = parse_filter({"shape": ["circle", "star"], "n": [1, "x"], "w": 2.0})
    edge, qdrant = to_filter(f, EDGE), to_filter(f, qdrant_target())
    assert isinstance(edge, qe.Filter) and isinstance(qdrant, models.Filter)
    assert isinstance(qdrant.must, list) and [type(c) for c in qdrant.must] == [
        models.FieldCondition,
        models.Filter,
        models.FieldCondition,
    ]
    assert edge.must is not None and [type(c) for c in edge.must] == [qe.FieldCondition, qe.Filter, qe.FieldCondition]
