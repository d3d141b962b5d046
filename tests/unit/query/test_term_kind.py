"""A term's public kind is an explicit vocabulary, not a class name; the UI styles chips on exactly it."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from services.core.settings import Limits
from services.query import parser
from services.query.ast import Term, TermKind
from services.query.parser import parse_terms

CHIPS_JS = Path(__file__).resolve().parents[3] / "services" / "web" / "static" / "js" / "chips.js"


def test_each_term_class_names_its_kind_and_the_strings_are_the_published_ones() -> None:
    terms = parse_terms('"a" + "b"|"c" + image(5) + upload(0) + @c + axis("p", "q")')
    assert [t.term.term_kind for t in terms] == ["text", "ensemble", "point", "upload", "concept", "axis"]
    assert {cls.term_kind for cls in typing.get_args(Term)} == set(TermKind)


def test_the_ui_styles_every_kind_and_nothing_else() -> None:
    keys = re.search(r"KIND_NAMES = \{(.*?)\}", CHIPS_JS.read_text(), re.S)
    assert keys is not None
    assert set(re.findall(r"(\w+):", keys.group(1))) == {k.value for k in TermKind}


def test_the_parsers_defaults_are_the_service_limits() -> None:
    limits = Limits()
    assert (limits.max_expression_chars, limits.max_terms) == (parser.DEFAULT_MAX_CHARS, parser.DEFAULT_MAX_TERMS)
