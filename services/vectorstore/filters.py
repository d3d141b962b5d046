"""A small, backend-neutral payload filter, shaped like Qdrant's own filter JSON.

Accepted JSON (``filter`` in search requests)::

    {"must": [{"key": "color", "match": {"value": "red"}}],
     "should": [...], "must_not": [{"key": "width", "range": {"gte": 100}}]}

and a shorthand ``{"color": "red", "shape": ["circle", "star"]}`` (equality; a list means any-of).
Each backend translates a ``Filter`` into its own filter objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.core.errors import InvalidInput

Scalar = str | int | float | bool


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


_RANGE_KEYS = {"gt", "gte", "lt", "lte"}


def _condition(obj: Any) -> Condition:
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        raise InvalidInput(f"filter condition must be an object with a string 'key', got {obj!r}")
    key = obj["key"]
    if "match" in obj:
        match = obj["match"]
        if not isinstance(match, dict):
            raise InvalidInput(f"filter 'match' for {key!r} must be an object")
        if "value" in match:
            return Condition(key=key, value=_scalar(match["value"], key))
        if "any" in match and isinstance(match["any"], list) and match["any"]:
            return Condition(key=key, any=tuple(_scalar(v, key) for v in match["any"]))
        raise InvalidInput(f"filter 'match' for {key!r} needs 'value' or a non-empty 'any' list")
    if "range" in obj:
        rng = obj["range"]
        if not isinstance(rng, dict) or not rng or set(rng) - _RANGE_KEYS:
            raise InvalidInput(f"filter 'range' for {key!r} takes only gt, gte, lt, lte")
        try:
            return Condition(key=key, range=Range(**{k: float(v) for k, v in rng.items()}))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"filter 'range' for {key!r} needs numbers") from exc
    raise InvalidInput(f"filter condition for {key!r} needs 'match' or 'range'")


def _scalar(v: Any, key: str) -> Scalar:
    if isinstance(v, str | int | float | bool):
        return v
    raise InvalidInput(f"filter value for {key!r} must be a string, number or boolean, got {v!r}")


def parse_filter(obj: Any) -> Filter | None:
    """Parse filter JSON (Qdrant-like or shorthand) into a ``Filter``; ``None`` for no filter."""
    if obj is None or obj == {}:
        return None
    if not isinstance(obj, dict):
        raise InvalidInput("filter must be a JSON object")
    clauses = {"must", "should", "must_not"}
    if set(obj) & clauses:
        if set(obj) - clauses:
            raise InvalidInput(f"unknown filter clauses: {sorted(set(obj) - clauses)}")
        parts: dict[str, tuple[Condition, ...]] = {}
        for clause in clauses:
            items = obj.get(clause) or []
            if not isinstance(items, list):
                raise InvalidInput(f"filter '{clause}' must be a list of conditions")
            parts[clause] = tuple(_condition(c) for c in items)
        return Filter(**parts)
    conds = []
    for key, value in obj.items():
        if isinstance(value, list):
            if not value:
                raise InvalidInput(f"filter list for {key!r} is empty")
            conds.append(Condition(key=key, any=tuple(_scalar(v, key) for v in value)))
        else:
            conds.append(Condition(key=key, value=_scalar(value, key)))
    return Filter(must=tuple(conds))
