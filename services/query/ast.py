"""The expression tree, its flattening into weighted terms, and its canonical text form.

An expression is a weighted sum of *terms* (the leaves that become vectors):

- ``TextTerm``    ``"a red circle"``            — the text encoder's vector for the prompt
- ``Ensemble``    ``"cat" | "a photo of a cat"`` — normalize(mean of the prompts' vectors)
- ``PointTerm``   ``image(8421)``, ``text(<uuid>)`` — a stored point's named vector
- ``UploadTerm``  ``upload(0)``                  — the n-th image uploaded with the request
- ``ConceptTerm`` ``@happy``                     — a saved concept
- ``AxisTerm``    ``axis(A, B)``                 — normalize(A) − normalize(B)

and the tree nodes ``Sum`` and ``Scaled`` combine them. Numbers never appear in the tree on their
own: the parser folds them into ``Scaled`` weights, so every ``Expr`` denotes a vector.

Each leaf carries ``pos``, the 0-based offset of its first character in the source text (−1 when
built by hand). ``pos`` is excluded from equality and hashing, so ``"a" + "a"`` is two equal terms
that ``linearize`` merges.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Literal, NamedTuple, cast

PointKind = Literal["image", "text"]


class TermKind(StrEnum):
    """A term's public kind (``query.terms[].kind`` in responses; the UI styles its chips on it)."""

    TEXT = "text"
    ENSEMBLE = "ensemble"
    POINT = "point"
    UPLOAD = "upload"
    CONCEPT = "concept"
    AXIS = "axis"


# A saved concept's name: ASCII letters, digits and '_', with single '-' between runs, so that
# ``@a-b`` is one name but ``@a -"b"`` and ``@a- "b"``-style typos cannot swallow an operator.
CONCEPT_NAME_RE = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class TextTerm:
    """A text prompt (non-empty) to be encoded by the text encoder."""

    term_kind: ClassVar[TermKind] = TermKind.TEXT

    text: str
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a text term needs non-blank text")


@dataclass(frozen=True)
class Ensemble:
    """A prompt ensemble: two or more prompts whose unit vectors are averaged, then normalised."""

    term_kind: ClassVar[TermKind] = TermKind.ENSEMBLE

    texts: tuple[str, ...]
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        # One prompt is a TextTerm; keeping that distinct makes the canonical form unique.
        if len(self.texts) < 2 or not all(t.strip() for t in self.texts):
            raise ValueError("an ensemble needs two or more non-blank prompts")


@dataclass(frozen=True)
class PointTerm:
    """A stored point's vector: ``kind`` names the vector (``image`` or ``text``, i.e. alt-text).

    ``point_id`` is canonical for bare ids (``"8421"``, lowercase hyphenated UUID) and verbatim for
    quoted ones.
    """

    term_kind: ClassVar[TermKind] = TermKind.POINT

    kind: PointKind
    point_id: str
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class UploadTerm:
    """The ``index``-th (0-based) image uploaded with the request."""

    term_kind: ClassVar[TermKind] = TermKind.UPLOAD

    index: int
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError("an upload index is 0 or more")


@dataclass(frozen=True)
class ConceptTerm:
    """A saved concept, written ``@name``."""

    term_kind: ClassVar[TermKind] = TermKind.CONCEPT

    name: str
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class AxisTerm:
    """An opposition axis normalize(a) − normalize(b). One term: the resolver composes a and b.

    The poles are stored in canonical form (see ``canonical``), so equal axes compare equal, hash
    alike and merge in ``linearize`` however their poles were written.
    """

    term_kind: ClassVar[TermKind] = TermKind.AXIS

    a: Expr
    b: Expr
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        # Canonicalising once, here, keeps nested axes linear to handle: inner poles are already done.
        object.__setattr__(self, "a", canonical(self.a))
        object.__setattr__(self, "b", canonical(self.b))


@dataclass(frozen=True)
class Sum:
    """The sum of two or more expressions (subtraction is a ``Scaled`` item with a negative weight)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Scaled:
    """``weight`` × ``expr``; ``weight`` is a finite float."""

    weight: float
    expr: Expr


Term = TextTerm | Ensemble | PointTerm | UploadTerm | ConceptTerm | AxisTerm
Expr = Term | Sum | Scaled


class WeightedTerm(NamedTuple):
    """One term of a linearized expression and its weight (a dimensionless float)."""

    weight: float
    term: Term


def linearize(expr: Expr) -> list[WeightedTerm]:
    """Flatten ``expr`` into ``[(weight, term), ...]`` with weights multiplied through.

    Like terms are merged by adding their weights (``"a" + "a"`` → ``[(2.0, "a")]``), in order of
    first appearance; the first appearance's ``pos`` is kept. A term whose merged weight is 0 (as in
    ``"a" - "a"`` or ``0*"a"``) is *kept* with weight 0.0: whether that is an error ("the terms cancel
    out") or fine (inside a larger sum) is for the caller to decide. ``AxisTerm`` stays one term (its
    poles are canonical, so equal axes merge however they were written).
    """
    merged: dict[Term, float] = {}
    first: dict[Term, Term] = {}
    _accumulate(expr, 1.0, merged, first)
    # "+ 0.0" turns -0.0 into 0.0, so a cancelled term prints as 0, not -0.
    return [WeightedTerm(weight + 0.0, first[term]) for term, weight in merged.items()]


def _accumulate(expr: Expr, factor: float, merged: dict[Term, float], first: dict[Term, Term]) -> None:
    if isinstance(expr, Sum):
        for item in expr.items:
            _accumulate(item, factor, merged, first)
        return
    if isinstance(expr, Scaled):
        _accumulate(expr.expr, factor * expr.weight, merged, first)
        return
    merged[expr] = merged.get(expr, 0.0) + factor
    first.setdefault(expr, expr)


def from_terms(terms: Sequence[WeightedTerm]) -> Expr:
    """The canonical tree for a linearized expression: a term, ``Scaled``, or a flat ``Sum`` of them.

    Weight-1 terms are bare; others are ``Scaled``. ``linearize(from_terms(t)) == t`` for merged ``t``.
    """
    if not terms:
        raise ValueError("an expression needs at least one term")
    items: list[Expr] = [t.term if t.weight == 1.0 else Scaled(t.weight, t.term) for t in terms]
    return items[0] if len(items) == 1 else Sum(tuple(items))


def canonical(expr: Expr) -> Expr:
    """``from_terms(linearize(expr))``: equal for any two ways of writing the same weighted sum."""
    return from_terms(linearize(expr))


def to_text(expr: Expr | WeightedTerm | Sequence[WeightedTerm]) -> str:
    """A canonical, round-trippable source text, e.g. ``"a person running" - 0.3*"winter"``.

    The expression is linearized first, so ``0.5*("a" - "b")`` prints as ``0.5*"a" - 0.5*"b"``.
    ``parse(to_text(x))`` linearizes to exactly the terms (and float weights) ``x`` linearizes to.
    """
    if isinstance(expr, WeightedTerm):
        terms: Sequence[WeightedTerm] = [expr]
    elif isinstance(expr, Sequence):
        # mypy cannot rule out the WeightedTerm tuple here, though the branch above took it.
        terms = cast(Sequence[WeightedTerm], expr)
    else:
        terms = linearize(expr)
    if not terms:
        raise ValueError("an expression needs at least one term")
    parts: list[str] = []
    for i, (weight, term) in enumerate(terms):
        magnitude = abs(weight)
        body = _term_text(term)
        if magnitude != 1.0:
            # A weighted ensemble is parenthesised for readers; '|' binds tighter than '*' anyway.
            body = (
                f"{format_number(magnitude)}*({body})"
                if isinstance(term, Ensemble)
                else (f"{format_number(magnitude)}*{body}")
            )
        negative = weight < 0
        if i == 0:
            parts.append(f"-{body}" if negative else body)
        else:
            parts.append(f" - {body}" if negative else f" + {body}")
    return "".join(parts)


def format_number(value: float) -> str:
    """The shortest text that parses back to exactly ``value`` (``2`` not ``2.0``; ``1e-05``)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def quote(text: str) -> str:
    """``text`` as a double-quoted literal, escaping ``\\`` and ``"``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def canonical_point_id(raw: str) -> str | None:
    """The canonical form of a bare point id, or None when ``raw`` is not one.

    A bare id is an unsigned integer (leading zeros dropped: ``"08421"`` → ``"8421"``) or a UUID,
    hyphenated or 32 hex digits, any case (→ lowercase hyphenated, the form Qdrant returns).
    """
    if raw.isascii() and raw.isdigit():
        return str(int(raw))
    lowered = raw.lower()
    if _UUID_RE.fullmatch(lowered):
        return lowered
    if len(lowered) == 32 and all(c in "0123456789abcdef" for c in lowered):
        return "-".join((lowered[:8], lowered[8:12], lowered[12:16], lowered[16:20], lowered[20:]))
    return None


def _point_id_text(point_id: str) -> str:
    # Bare only when the parser would read it back unchanged; anything else goes in quotes.
    return point_id if canonical_point_id(point_id) == point_id else quote(point_id)


def _term_text(term: Term) -> str:
    if isinstance(term, TextTerm):
        return quote(term.text)
    if isinstance(term, Ensemble):
        return " | ".join(quote(t) for t in term.texts)
    if isinstance(term, PointTerm):
        return f"{term.kind}({_point_id_text(term.point_id)})"
    if isinstance(term, UploadTerm):
        return f"upload({term.index})"
    if isinstance(term, ConceptTerm):
        return f"@{term.name}"
    return f"axis({to_text(term.a)}, {to_text(term.b)})"
