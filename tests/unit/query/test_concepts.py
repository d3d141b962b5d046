"""Validation of concept names, templates and savable expressions."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidInput
from services.query.concepts import check_concept_name, check_savable, check_templates, used_concepts
from services.query.parser import parse_terms


def test_concept_names() -> None:
    assert check_concept_name("happy-sad_2") == "happy-sad_2"
    for bad in ("", "a b", "-a", "a--b", "é", "x" * 65, "a-"):
        with pytest.raises(InvalidInput, match="invalid concept name"):
            check_concept_name(bad)


def test_templates() -> None:
    assert check_templates(["a photo of {}", "{}"], 4) == ("a photo of {}", "{}")
    for bad, match in [
        ([], "at least one"),
        (["no slot"], "exactly once"),
        (["{} and {}"], "exactly once"),
        (["{}", "{}"], "distinct"),
        (["{}" + "x" * 300], "characters"),
        (["{}a", "{}b", "{}c"], "at most 2"),
    ]:
        with pytest.raises(InvalidInput, match=match):
            check_templates(bad, 2)


def test_uploads_cannot_be_saved_even_inside_an_axis() -> None:
    check_savable(parse_terms('"a" + axis("b", @c)'))
    for expr in ("upload(0)", '"a" + axis(upload(1), "b")'):
        with pytest.raises(InvalidInput, match="upload"):
            check_savable(parse_terms(expr))


def test_used_concepts() -> None:
    assert used_concepts(parse_terms('@a + axis(@b, "x") - 0.5*@a')) == {"a", "b"}
