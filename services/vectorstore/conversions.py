"""The neutral payload filter (``filters.py``) in each backend's own Qdrant classes, by one walk.

Qdrant Edge (``qdrant_edge``) and qdrant-client (``qdrant_client.models``) model a filter the same way:
``Filter(must, should, must_not)`` of ``FieldCondition(key, match=MatchValue | MatchAny, range=...)``.
Only the classes differ, so the rules of the translation live once, in ``to_filter``, and each backend is
a ``FilterTarget``: the handful of constructors the walk calls (qdrant-client's ``conversions`` habit).
The two backends must answer every filter alike (tests/unit/vectorstore/test_congruence.py); a rule that
lived in two translators could drift.

Filters reach this module validated (``parse_filter``), so nothing here checks input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np
import qdrant_edge as qe

from services.core.errors import InvalidInput
from services.vectorstore.filters import Condition, Filter, Range, Scalar

if TYPE_CHECKING:
    from qdrant_client import models

F = TypeVar("F")  # a target's top-level filter
C = TypeVar("C")  # a target's condition: a field condition or a nested filter

Exact = str | int | bool  # what Qdrant matches exactly (floats match as a one-point range)


@dataclass(frozen=True)
class FilterTarget(Generic[F, C]):
    """The constructors of one backend's filter classes, as the walk needs them."""

    filter: Callable[[list[C] | None, list[C] | None, list[C] | None], F]  # must, should, must_not
    any_of: Callable[[list[C]], C]  # a nested filter that holds when one of its conditions does
    match_value: Callable[[str, Exact], C]
    match_any: Callable[[str, list[str] | list[int]], C]
    range: Callable[[str, Range], C]


def to_filter(f: Filter | None, target: FilterTarget[F, C]) -> F | None:
    """``f`` as ``target``'s filter; ``None`` for no filter (or an empty one)."""
    if f is None or f.is_empty():
        return None

    def clause(conditions: Sequence[Condition]) -> list[C] | None:
        return [_condition(c, target) for c in conditions] or None

    return target.filter(clause(f.must), clause(f.should), clause(f.must_not))


def _condition(c: Condition, target: FilterTarget[F, C]) -> C:
    if c.range is not None:
        return target.range(c.key, c.range)
    if c.any is not None:
        same = _one_type(c.any)
        if same is not None:
            return target.match_any(c.key, same)
        # MatchAny takes only all-strings or all-integers; a mixed list becomes "any of these equalities".
        return target.any_of([_value(c.key, v, target) for v in c.any])
    if c.value is not None:
        return _value(c.key, c.value, target)
    raise InvalidInput(f"filter condition for {c.key!r} has nothing to match")


def _value(key: str, value: Scalar, target: FilterTarget[F, C]) -> C:
    if isinstance(value, float):
        # Qdrant matches only keywords, integers and booleans exactly; a float equals itself as a range.
        return target.range(key, Range(gte=value, lte=value))
    return target.match_value(key, value)


def _one_type(values: Sequence[Scalar]) -> list[str] | list[int] | None:
    """The values as all-strings or all-integers (booleans are not integers here), else ``None``."""
    strings = [v for v in values if isinstance(v, str)]
    if len(strings) == len(values):
        return strings
    integers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if len(integers) == len(values):
        return integers
    return None


# --- Qdrant Edge (the embedded store) ------------------------------------------------------------------


def _edge_match_value(key: str, value: Exact) -> qe.ConditionType:
    if isinstance(value, bool):
        # qdrant-edge 0.9 reads a Python bool as the integer 1/0, which never matches a boolean payload;
        # numpy.bool_ is not an int subclass, so it arrives as a real boolean.
        return qe.FieldCondition(key, match=qe.MatchValue(np.bool_(value)))  # type: ignore[arg-type]
    return qe.FieldCondition(key, match=qe.MatchValue(value))


EDGE: FilterTarget[qe.Filter, qe.ConditionType] = FilterTarget(
    filter=lambda must, should, must_not: qe.Filter(must=must, should=should, must_not=must_not),
    any_of=lambda conditions: qe.Filter(should=conditions),
    match_value=_edge_match_value,
    match_any=lambda key, values: qe.FieldCondition(key, match=qe.MatchAny(values)),
    range=lambda key, r: qe.FieldCondition(key, range=qe.RangeFloat(gte=r.gte, gt=r.gt, lte=r.lte, lt=r.lt)),
)


# --- qdrant-client (a Qdrant server or cluster) ---------------------------------------------------------


@functools.cache
def qdrant_target() -> FilterTarget[models.Filter, models.Condition]:
    """qdrant-client's target, built on first use: importing qdrant_client costs about a second of CPU,
    which every CLI command and server start in embedded mode (which never needs it) would pay."""
    from qdrant_client import models

    return FilterTarget(
        filter=lambda must, should, must_not: models.Filter(must=must, should=should, must_not=must_not),
        any_of=lambda conditions: models.Filter(should=conditions),
        match_value=lambda key, value: models.FieldCondition(key=key, match=models.MatchValue(value=value)),
        match_any=lambda key, values: models.FieldCondition(key=key, match=models.MatchAny(any=values)),
        range=lambda key, r: models.FieldCondition(key=key, range=models.Range(gt=r.gt, gte=r.gte, lt=r.lt, lte=r.lte)),
    )


def edge_filter(f: Filter | None) -> qe.Filter | None:
    return to_filter(f, EDGE)


def qdrant_filter(f: Filter | None) -> models.Filter | None:
    return to_filter(f, qdrant_target())
