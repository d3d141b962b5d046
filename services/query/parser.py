"""Tokenizer and recursive-descent parser for query expressions. User text is never ``eval``-ed.

Grammar (EBNF; whitespace may appear between any two tokens)::

    expression = sum ;
    sum        = product , { ( "+" | "-" ) , product } ;
    product    = unary , { ( "*" | "/" ) , unary } ;
    unary      = { "+" | "-" } , primary ;
    primary    = NUMBER | ensemble | "(" , sum , ")" | concept | call ;
    ensemble   = STRING , { "|" , STRING } ;           (* '|' binds tighter than '*' *)
    concept    = "@" , NAME ;
    call       = ( "image" | "text" ) , "(" , point_id , ")"
               | "upload" , "(" , INTEGER , ")"
               | "axis" , "(" , sum , "," , sum , ")" ;
    point_id   = INTEGER | UUID | STRING ;
    NUMBER     = ( DIGITS , [ "." , [ DIGITS ] ] | "." , DIGITS ) ,
                 [ ( "e" | "E" ) , [ "+" | "-" ] , DIGITS ] ;
    STRING     = '"' , { any char but '"' and '\\' | '\\"' | '\\\\' } , '"' ;   (* not blank *)
    NAME       = NAME_RUN , { "-" , NAME_RUN } ;  NAME_RUN = { ASCII letter | digit | "_" }- ;
    UUID       = 8-4-4-4-12 hex digits with dashes, or 32 hex digits ;

Function names are case-insensitive. Numbers are weights, not vectors: the parser types every
sub-expression as *number* or *vector* and folds number arithmetic (``(1-0.3)*"a"`` is fine), but
rejects a number standing alone in a sum or as the whole expression, a product of two vectors,
division by a vector and division by zero. Every error is an ``ExpressionError`` with the 0-based
character position of the offending token (the length of the text for "unexpected end").
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple, NoReturn

from services.core.errors import ExpressionError
from services.core.settings import Limits
from services.query.ast import (
    CONCEPT_NAME_RE,
    AxisTerm,
    ConceptTerm,
    Ensemble,
    Expr,
    PointKind,
    PointTerm,
    Scaled,
    Sum,
    TextTerm,
    UploadTerm,
    WeightedTerm,
    canonical_point_id,
    linearize,
)

# The defaults are the service's request limits (``Limits``), the one source of truth; the service
# passes the configured ones (``services.query.search.parse_expression``).
DEFAULT_MAX_CHARS: int = Limits.model_fields["max_expression_chars"].default
DEFAULT_MAX_TERMS: int = Limits.model_fields["max_terms"].default
# Parentheses and axis() recurse; a cap keeps hostile input far from Python's recursion limit.
MAX_DEPTH = 64

# ASCII digits only: ``str.isdigit`` and ``\d`` also accept "²", "③" or "٣", which ``float`` and the
# grammar do not agree on; a number is written with 0-9 (``re.ASCII`` keeps ``\d`` to those).
_NUMBER_RE = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DIGITS = frozenset("0123456789")
# A lone UTF-16 surrogate (from a JSON escape such as "\\udc30") is not text: it cannot be encoded,
# tokenized or echoed back, so it is refused up front with its position.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POINT_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_OPERATORS = "+-*/(),|"
_FUNCTIONS = ("image", "text", "upload", "axis")


class _Token(NamedTuple):
    kind: str  # "number" | "string" | "ident" | "concept" | "op" | "eof"
    text: str  # the source slice (for ops: the operator itself)
    pos: int
    end: int
    number: float = 0.0
    string: str = ""  # unescaped string contents, identifier or concept name


class _Num(NamedTuple):
    value: float
    pos: int
    end: int


class _Vec(NamedTuple):
    expr: Expr
    pos: int
    end: int


_Value = _Num | _Vec


def _describe(tok: _Token) -> str:
    if tok.kind == "eof":
        return "the end of the expression"
    if tok.kind == "string":
        return f"text term {tok.text}"
    if tok.kind == "number":
        return f"number {tok.text}"
    if tok.kind == "concept":
        return f"concept {tok.text}"
    return f"'{tok.text}'"


class _Lexer:
    """Produces tokens on demand, so the parser can read point ids (``3f2a-...``) raw."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0
        self._peeked: _Token | None = None

    def error(self, message: str, position: int) -> NoReturn:
        raise ExpressionError(message, position, self.src)

    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self._lex()
        return self._peeked

    def next(self) -> _Token:
        tok = self.peek()
        self._peeked = None
        self.pos = tok.end
        return tok

    def _skip_space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def _lex(self) -> _Token:
        self._skip_space()
        src, i = self.src, self.pos
        if i >= len(src):
            return _Token("eof", "", i, i)
        ch = src[i]
        if ch == '"':
            text, end = self.read_string(i)
            if not text.strip():
                self.error("empty text term: write the text between the quotes", i)
            return _Token("string", src[i:end], i, end, string=text)
        if ch in _DIGITS or (ch == "." and i + 1 < len(src) and src[i + 1] in _DIGITS):
            return self._lex_number(i)
        if ch == "@":
            m = CONCEPT_NAME_RE.match(src, i + 1)
            if m is None:
                self.error("expected a concept name after '@' (letters, digits, '_' or '-')", i + 1)
            return _Token("concept", src[i : m.end()], i, m.end(), string=m.group())
        m = _IDENT_RE.match(src, i)
        if m is not None:
            return _Token("ident", m.group(), i, m.end(), string=m.group())
        if ch in _OPERATORS:
            return _Token("op", ch, i, i + 1)
        if ch in "'‘’“”":  # curly or single quotes pasted from documents are a common slip
            self.error(f'unexpected character {ch!r}: text terms go in straight double quotes: "text"', i)
        if ch.isnumeric():  # "²", "③", "٣": look like numbers, but weights are written with 0-9
            self.error(f"unexpected character {ch!r}: write numbers with the digits 0-9", i)
        self.error(f"unexpected character {ch!r}", i)

    def _lex_number(self, i: int) -> _Token:
        m = _NUMBER_RE.match(self.src, i)
        if m is None:  # unreachable: the caller saw an ASCII digit, or '.' and one; never a 500 if not
            self.error("malformed number", i)
        end = m.end()
        # "1e", "1.2.3", "1e-": a number glued to more number-ish characters is a typo, not 1 then "e".
        if end < len(self.src) and (self.src[end] in ".eE" or self.src[end].isdigit()):
            # (isdigit, not _DIGITS: "2²" is a typo worth naming as a malformed number too)
            run = re.match(r"[\w.+-]*", self.src[end:])
            bad_end = end + (run.end() if run else 0)
            self.error(f"malformed number {self.src[i:bad_end]!r}", i)
        value = float(m.group())
        if not math.isfinite(value):
            self.error(f"number {m.group()} is out of range", i)
        return _Token("number", m.group(), i, end, number=value)

    def read_string(self, start: int) -> tuple[str, int]:
        """Read a double-quoted literal at ``start``; return (contents, end offset)."""
        src, i, out = self.src, start + 1, list[str]()
        while i < len(src):
            ch = src[i]
            if ch == '"':
                return "".join(out), i + 1
            if ch == "\\":
                if i + 1 >= len(src):
                    break
                nxt = src[i + 1]
                if nxt not in '"\\':
                    self.error(f"unknown escape '\\{nxt}': only \\\" and \\\\ are allowed in text", i)
                out.append(nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
        self.error("unterminated text term: missing closing '\"'", start)

    def read_point_id(self) -> tuple[str, int]:
        """Read a point id right after ``image(`` / ``text(``: an integer, a UUID, or a quoted string."""
        self._peeked = None
        self._skip_space()
        start = self.pos
        if start < len(self.src) and self.src[start] == '"':
            raw, self.pos = self.read_string(start)
            if not raw.strip():
                self.error("empty point id", start)
            return raw, start
        m = _POINT_ID_RE.match(self.src, start)
        if m is None:
            if start >= len(self.src):
                self.error("unexpected end of expression: expected a point id", start)
            self.error("expected a point id: an integer, a UUID or a quoted string", start)
        point_id = canonical_point_id(m.group())
        if point_id is None:
            self.error(f"invalid point id {m.group()!r}: expected an integer, a UUID or a quoted string", start)
        self.pos = m.end()
        return point_id, start


class _Parser:
    def __init__(self, src: str, max_terms: int) -> None:
        self.src = src
        self.lex = _Lexer(src)
        self.max_terms = max_terms
        self.terms = 0

    def error(self, message: str, position: int) -> NoReturn:
        raise ExpressionError(message, position, self.src)

    def parse(self) -> Expr:
        value = self.sum(0, after=None)
        tok = self.lex.peek()
        if tok.kind != "eof":
            if tok.text == ")":
                self.error("unmatched ')'", tok.pos)
            self.error(f"expected an operator (+, -, *, /) or the end, found {_describe(tok)}", tok.pos)
        return self.vector(value)

    # --- typing helpers -------------------------------------------------------------------------

    def vector(self, value: _Value) -> Expr:
        """The expression of a vector-valued operand; a bare number here is an error."""
        if isinstance(value, _Num):
            shown = self.src[value.pos : value.end]
            self.error(
                f"a number on its own is not a vector: {shown} has no term to weight "
                f'(write a weight next to a term, e.g. 0.3*"winter")',
                value.pos,
            )
        return value.expr

    def count_term(self, pos: int) -> None:
        self.terms += 1
        if self.terms > self.max_terms:
            self.error(f"too many terms: at most {self.max_terms} are allowed", pos)

    def scaled(self, expr: Expr, weight: float, op_pos: int, divide: bool = False) -> Expr:
        # Fold nested weights so ``2*3*"a"`` is one Scaled node; dividing (not multiplying by the
        # reciprocal) keeps ``0.9*"a"/3`` as exact as plain float arithmetic allows.
        inner, base = (expr.expr, expr.weight) if isinstance(expr, Scaled) else (expr, 1.0)
        total = base / weight if divide else base * weight
        if not math.isfinite(total):
            self.error("weight is out of range", op_pos)
        return inner if total == 1.0 else Scaled(total, inner)

    # --- grammar --------------------------------------------------------------------------------

    def sum(self, depth: int, after: str | None) -> _Value:
        operands: list[tuple[int, _Value]] = [(1, self.product(depth, after))]
        while (tok := self.lex.peek()).kind == "op" and tok.text in "+-":
            self.lex.next()
            operands.append((1 if tok.text == "+" else -1, self.product(depth, tok.text)))
        first, last = operands[0][1], operands[-1][1]
        if len(operands) == 1:
            return first
        numbers = [v for _, v in operands if isinstance(v, _Num)]
        if len(numbers) == len(operands):
            total = sum(sign * v.value for sign, v in operands if isinstance(v, _Num))
            if not math.isfinite(total):
                self.error("number is out of range", first.pos)
            return _Num(total, first.pos, last.end)
        if numbers:
            self.vector(numbers[0])  # a number added to a vector: report where the number is
        items = tuple(self.vector(v) if sign == 1 else self.scaled(self.vector(v), -1.0, v.pos) for sign, v in operands)
        return _Vec(Sum(items), first.pos, last.end)

    def product(self, depth: int, after: str | None) -> _Value:
        left = self.unary(depth, after)
        while (tok := self.lex.peek()).kind == "op" and tok.text in "*/":
            self.lex.next()
            right = self.unary(depth, tok.text)
            left = self.multiply(left, right, tok) if tok.text == "*" else self.divide(left, right)
        return left

    def multiply(self, left: _Value, right: _Value, op: _Token) -> _Value:
        if isinstance(left, _Num) and isinstance(right, _Num):
            value = left.value * right.value
            if not math.isfinite(value):
                self.error("weight is out of range", op.pos)
            return _Num(value, left.pos, right.end)
        if isinstance(left, _Num) and isinstance(right, _Vec):
            return _Vec(self.scaled(right.expr, left.value, op.pos), left.pos, right.end)
        if isinstance(left, _Vec) and isinstance(right, _Num):
            return _Vec(self.scaled(left.expr, right.value, op.pos), left.pos, right.end)
        self.error('cannot multiply two terms: a weight must be a number, e.g. 0.3*"winter"', op.pos)

    def divide(self, left: _Value, right: _Value) -> _Value:
        if isinstance(right, _Vec):
            self.error("cannot divide by a term: only by a number", right.pos)
        if right.value == 0.0:
            self.error("division by zero", right.pos)
        if isinstance(left, _Num):
            value = left.value / right.value
            if not math.isfinite(value):
                self.error("weight is out of range", right.pos)
            return _Num(value, left.pos, right.end)
        return _Vec(self.scaled(left.expr, right.value, right.pos, divide=True), left.pos, right.end)

    def unary(self, depth: int, after: str | None) -> _Value:
        # A loop, not recursion: "------x" must not cost stack frames.
        sign, start = 1.0, self.lex.peek().pos
        while (tok := self.lex.peek()).kind == "op" and tok.text in "+-":
            self.lex.next()
            after = tok.text
            if tok.text == "-":
                sign = -sign
        value = self.primary(depth, after)
        if sign == 1.0:
            return value
        if isinstance(value, _Num):
            return _Num(-value.value, start, value.end)
        return _Vec(self.scaled(value.expr, -1.0, start), start, value.end)

    def primary(self, depth: int, after: str | None) -> _Value:
        tok = self.lex.peek()
        value: _Value
        if tok.kind == "string":
            return self.ensemble()
        if tok.kind == "number":
            self.lex.next()
            value = _Num(tok.number, tok.pos, tok.end)
        elif tok.kind == "concept":
            self.lex.next()
            self.count_term(tok.pos)
            value = _Vec(ConceptTerm(tok.string, pos=tok.pos), tok.pos, tok.end)
        elif tok.kind == "ident":
            value = self.call(depth)
        elif tok.text == "(":
            self.check_depth(depth, tok.pos)
            self.lex.next()
            inner = self.sum(depth + 1, "(")
            close = self.expect_close(f"'(' at character {tok.pos + 1}")
            value = inner._replace(pos=tok.pos, end=close.end)
        else:
            where = f" after '{after}'" if after else ""
            if tok.kind == "eof":
                self.error(f"unexpected end of expression: expected a term{where}", tok.pos)
            self.error(f"expected a term{where}, found {_describe(tok)}", tok.pos)
        nxt = self.lex.peek()
        if nxt.text == "|" and nxt.kind == "op":
            self.error("'|' joins text terms into an ensemble: only quoted text can stand beside it", nxt.pos)
        return value

    def ensemble(self) -> _Value:
        first = self.lex.next()
        self.count_term(first.pos)
        texts, end = [first.string], first.end
        while (bar := self.lex.peek()).kind == "op" and bar.text == "|":
            self.lex.next()
            tok = self.lex.peek()
            if tok.kind == "eof":
                self.error("unexpected end of expression: expected a text term after '|'", tok.pos)
            if tok.kind != "string":
                self.error(
                    f"only text terms in double quotes can be joined with '|', found {_describe(tok)}",
                    tok.pos,
                )
            self.lex.next()
            self.count_term(tok.pos)
            texts.append(tok.string)
            end = tok.end
        term: Expr = TextTerm(texts[0], pos=first.pos) if len(texts) == 1 else Ensemble(tuple(texts), pos=first.pos)
        return _Vec(term, first.pos, end)

    def call(self, depth: int) -> _Value:
        name_tok = self.lex.next()
        name = name_tok.string.lower()
        paren = self.lex.peek()
        if name not in _FUNCTIONS:
            if paren.text == "(" and paren.kind == "op":
                self.error(
                    f"unknown function '{name_tok.string}'; expected image, text, upload or axis",
                    name_tok.pos,
                )
            self.error(
                f"unexpected word '{name_tok.string}': text terms go in double quotes, e.g. \"{name_tok.string}\"",
                name_tok.pos,
            )
        if paren.text != "(" or paren.kind != "op":
            self.error(f"expected '(' after '{name_tok.string}', found {_describe(paren)}", paren.pos)
        if name == "axis":
            return self.axis(name_tok, depth)
        self.lex.next()
        self.count_term(name_tok.pos)
        term: Expr
        if name == "upload":
            term = UploadTerm(self.upload_index(), pos=name_tok.pos)
        else:
            kind: PointKind = "image" if name == "image" else "text"
            point_id, _ = self.lex.read_point_id()
            term = PointTerm(kind, point_id, pos=name_tok.pos)
        close = self.expect_close(f"'{name_tok.string}('", operator_ok=False)
        return _Vec(term, name_tok.pos, close.end)

    def upload_index(self) -> int:
        tok = self.lex.peek()
        if tok.kind != "number" or not set(tok.text) <= _DIGITS:
            self.error(f"upload() takes an image index (0, 1, ...), found {_describe(tok)}", tok.pos)
        self.lex.next()
        return int(tok.text)

    def axis(self, name_tok: _Token, depth: int) -> _Value:
        self.check_depth(depth, name_tok.pos)
        self.lex.next()  # '('
        a = self.vector(self.sum(depth + 1, "axis("))
        comma = self.lex.peek()
        if comma.text != "," or comma.kind != "op":
            if comma.kind == "eof":
                self.error("unexpected end of expression: axis needs two expressions, axis(A, B)", comma.pos)
            self.error(f"axis needs two expressions separated by ',', found {_describe(comma)}", comma.pos)
        self.lex.next()
        b = self.vector(self.sum(depth + 1, ","))
        tok = self.lex.peek()
        if tok.text == "," and tok.kind == "op":
            self.error("axis takes exactly two expressions, axis(A, B)", tok.pos)
        close = self.expect_close(f"'{name_tok.string}(' at character {name_tok.pos + 1}")
        return _Vec(AxisTerm(a, b, pos=name_tok.pos), name_tok.pos, close.end)

    def expect_close(self, what: str, operator_ok: bool = True) -> _Token:
        """Consume the ')' that closes ``what``; where an operator could also follow, say so."""
        tok = self.lex.peek()
        if tok.text == ")" and tok.kind == "op":
            return self.lex.next()
        if tok.kind == "eof":
            self.error(f"missing ')' to close {what}", tok.pos)
        expected = "an operator or ')'" if operator_ok else "')'"
        self.error(f"expected {expected} to close {what}, found {_describe(tok)}", tok.pos)

    def check_depth(self, depth: int, pos: int) -> None:
        if depth >= MAX_DEPTH:
            self.error(f"expression is nested too deeply (more than {MAX_DEPTH} levels)", pos)


def parse(text: str, *, max_chars: int = DEFAULT_MAX_CHARS, max_terms: int = DEFAULT_MAX_TERMS) -> Expr:
    """Parse an expression into its tree. Raises ``ExpressionError`` (with a 0-based position).

    ``max_chars`` caps the text's length in characters; ``max_terms`` caps the number of leaf terms
    (each prompt of an ensemble and each term inside ``axis(...)`` counts).
    """
    if len(text) > max_chars:
        raise ExpressionError(
            f"expression is too long: {len(text)} characters, at most {max_chars} are allowed",
            max_chars,
            text,
        )
    if (bad := _SURROGATE_RE.search(text)) is not None:
        raise ExpressionError(
            f"invalid character \\u{ord(bad.group()):04x} (a lone surrogate): send the expression as Unicode text",
            bad.start(),
            text,
        )
    if not text.strip():
        raise ExpressionError('empty expression: write at least one term, e.g. "a red circle"', 0, text)
    expr = _Parser(text, max_terms).parse()
    # Weights are finite node by node, but merging like terms can still overflow (1e308*"a" + 1e308*"a").
    if not _finite(linearize(expr)):
        raise ExpressionError("weights are out of range", 0, text)
    return expr


def _finite(terms: list[WeightedTerm]) -> bool:
    return all(
        math.isfinite(weight)
        and (not isinstance(term, AxisTerm) or (_finite(linearize(term.a)) and _finite(linearize(term.b))))
        for weight, term in terms
    )


def parse_terms(
    text: str, *, max_chars: int = DEFAULT_MAX_CHARS, max_terms: int = DEFAULT_MAX_TERMS
) -> list[WeightedTerm]:
    """``linearize(parse(text, ...))``: the expression as merged ``(weight, term)`` pairs."""
    return linearize(parse(text, max_chars=max_chars, max_terms=max_terms))
