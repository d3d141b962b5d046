"""Excerpts of input in messages."""

from __future__ import annotations

from services.core.excerpt import excerpt, quoted


def test_short_text_is_kept_and_long_text_cut_with_its_length() -> None:
    assert excerpt("abc") == "abc"
    cut = excerpt("x" * 1_000, 10)
    assert cut == "xxxxxxxxxx… (1,000 characters)"


def test_quoted_reprs_and_does_not_render_huge_containers() -> None:
    assert quoted("a b") == "'a b'"
    assert quoted(list(range(100_000))) == "<list of 100,000 items>"
    assert quoted("y" * 500).endswith("(502 characters)")
