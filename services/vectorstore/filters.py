"""A small, backend-neutral payload filter, shaped like Qdrant's own filter JSON.

Accepted JSON (``filter`` in search requests)::

    {"must": [{"key": "color", "match": {"value": "red"}}],
     "should": [...], "must_not": [{"key": "width", "range": {"gte": 100}}]}

and a shorthand ``{"color": "red", "shape": ["circle", "star"]}`` (equality; a list means any-of).
Each backend translates a ``Filter`` into its own filter objects.

A filter is validated once, here, before any backend sees it: at most ``max_filter_conditions``
conditions and ``max_filter_values`` values per any-of list (a 50,000-condition filter costs the store
seconds of CPU that every other request waits behind), keys that are JSON paths as Qdrant reads them
(anything else made the engine fail with a 500), finite numbers in ranges and integers within 64 bits.
The structure is flat (clauses of conditions, no nested filters), so its depth is fixed at one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from services.core.errors import InvalidInput
from services.core.excerpt import quoted
from services.core.settings import Limits

Scalar = str | int | float | bool

# Qdrant's payload key grammar (its json_path parser): ``.``-separated segments, each a bare name of
# ASCII letters, digits, ``_`` and ``-`` or a double-quoted name (no quotes, backslashes or control
# characters inside), each followed by any number of ``[]`` (every element) or ``[n]`` (one element).
_SEGMENT = r'(?:[A-Za-z0-9_-]+|"[^"\\\x00-\x1f\x7f]+")(?:\[[0-9]{0,9}\])*'
_KEY = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
MAX_KEY_CHARS = 256
_INT64 = 2**63


@dataclass(frozen=True)
class Range:
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Condition:
    """Exactly one of ``value`` (equality), ``any`` (one of), ``range`` is set."""

    key: str
    value: Scalar | None = None
    any: tuple[Scalar, ...] | None = None
    range: Range | None = None


@dataclass(frozen=True)
class Filter:
    must: tuple[Condition, ...] = field(default_factory=tuple)
    should: tuple[Condition, ...] = field(default_factory=tuple)
    must_not: tuple[Condition, ...] = field(default_factory=tuple)

    def is_empty(self) -> bool:
        return not (self.must or self.should or self.must_not)


_RANGE_KEYS = ("gt", "gte", "lt", "lte")
_CLAUSES = ("must", "should", "must_not")


def check_key(key: object, where: str) -> str:
    """``key`` if it is a payload key Qdrant accepts (``color``, ``exif.iso``, ``tags[]``, ``"a b"``)."""
    if not isinstance(key, str):
        raise InvalidInput(f"{where}: the key must be a string, got {quoted(key)}")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidInput(f"{where}: the key {quoted(key)} is longer than {MAX_KEY_CHARS} characters")
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            f"{where}: {quoted(key)} is not a valid payload key: use names of letters, digits, '_' and '-' "
            "joined by '.', with '[]' or '[n]' for arrays; quote other names in double quotes ('\"a b\"')"
        )
    return key


def _scalar(v: Any, where: str) -> Scalar:
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        if not -_INT64 <= v < _INT64:
            raise InvalidInput(f"{where}: integer {quoted(v)} does not fit in 64 bits")
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise InvalidInput(f"{where}: {v} is not a finite number")
        return v
    raise InvalidInput(f"{where}: a value must be a string, number or boolean, got {quoted(v)}")


def _bound(v: Any, where: str) -> float:
    # Booleans and numeric strings ("NaN", "1e999") were once read by float(); a bound is a JSON number.
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InvalidInput(f"{where}: a range bound must be a number, got {quoted(v)}")
    try:
        bound = float(v)
    except OverflowError:
        bound = math.inf
    if not math.isfinite(bound):
        raise InvalidInput(f"{where}: a range bound must be a finite number, got {quoted(v)}")
    return bound


def _values(items: Any, where: str, limits: Limits) -> tuple[Scalar, ...]:
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{where}: needs a non-empty list of values")
    if len(items) > limits.max_filter_values:
        raise InvalidInput(
            f"{where}: {len(items):,} values, at most {limits.max_filter_values:,} are allowed "
            "(SIGNIFIER_LIMITS__MAX_FILTER_VALUES)"
        )
    return tuple(_scalar(v, f"{where}[{i}]") for i, v in enumerate(items))


def _condition(obj: Any, where: str, limits: Limits) -> Condition:
    if not isinstance(obj, dict) or "key" not in obj:
        raise InvalidInput(f"{where}: a condition is an object with a 'key', got {quoted(obj)}")
    key = check_key(obj["key"], where)
    where = f"{where} ({quoted(key)})"
    if "match" in obj:
        match = obj["match"]
        if not isinstance(match, dict):
            raise InvalidInput(f"{where}: 'match' must be an object")
        if "value" in match:
            return Condition(key=key, value=_scalar(match["value"], f"{where}.match.value"))
        if "any" in match:
            return Condition(key=key, any=_values(match["any"], f"{where}.match.any", limits))
        raise InvalidInput(f"{where}: 'match' needs 'value' or a non-empty 'any' list")
    if "range" in obj:
        rng = obj["range"]
        if not isinstance(rng, dict) or not rng or set(rng) - set(_RANGE_KEYS):
            raise InvalidInput(f"{where}: 'range' takes only gt, gte, lt, lte")
        return Condition(key=key, range=Range(**{k: _bound(v, f"{where}.range.{k}") for k, v in rng.items()}))
    raise InvalidInput(f"{where}: a condition needs 'match' or 'range'")


def _check_count(n: int, limits: Limits) -> None:
    if n > limits.max_filter_conditions:
        raise InvalidInput(
            f"the filter has {n:,} conditions, at most {limits.max_filter_conditions:,} are allowed "
            "(SIGNIFIER_LIMITS__MAX_FILTER_CONDITIONS); use an any-of list for many values of one key"
        )


def parse_filter(obj: Any, limits: Limits | None = None) -> Filter | None:
    """Parse and validate filter JSON (Qdrant-like or shorthand) into a ``Filter``; ``None`` for no filter.

    Counts are checked before any condition is looked at, so an oversized filter is refused in O(1).
    """
    limits = limits or Limits()
    if obj is None or obj == {}:
        return None
    if not isinstance(obj, dict):
        raise InvalidInput("filter must be a JSON object")
    if set(obj) & set(_CLAUSES):
        if set(obj) - set(_CLAUSES):
            raise InvalidInput(f"unknown filter clauses: {quoted(sorted(set(obj) - set(_CLAUSES)))}")
        lists: dict[str, list[Any]] = {}
        for clause in _CLAUSES:
            items = obj.get(clause) or []
            if not isinstance(items, list):
                raise InvalidInput(f"filter '{clause}' must be a list of conditions")
            lists[clause] = items
        _check_count(sum(len(v) for v in lists.values()), limits)
        parts = {
            clause: tuple(_condition(c, f"filter.{clause}[{i}]", limits) for i, c in enumerate(items))
            for clause, items in lists.items()
        }
        return Filter(**parts)
    _check_count(len(obj), limits)
    conds = []
    for key, value in obj.items():
        where = f"filter ({quoted(check_key(key, 'filter'))})"
        if isinstance(value, list):
            conds.append(Condition(key=key, any=_values(value, where, limits)))
        else:
            conds.append(Condition(key=key, value=_scalar(value, where)))
    return Filter(must=tuple(conds))
