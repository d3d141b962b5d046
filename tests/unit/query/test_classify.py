"""Zero-shot classification math and label parsing (the collection-wide job: tests/unit/jobs/test_classify_jobs.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.query.classify import (
    Label,
    check_label_set,
    classifications,
    label_vectors,
    parse_label,
    parse_labels,
    zero_shot,
)
from services.query.compose import softmax_probs
from tests.unit.query.fakes import HashEncoder, vec


def test_label_forms() -> None:
    assert parse_label("red", 0) == Label("red", ("red",))
    both = Label("a red shape | a red thing", ("a red shape", "a red thing"))
    assert parse_label("a red shape | a red thing", 0) == both
    assert parse_label({"label": "red", "prompts": ["red", "crimson"]}, 0) == Label("red", ("red", "crimson"))
    assert parse_label({"label": "red"}, 0) == Label("red", ("red",))


@pytest.mark.parametrize(
    ("items", "match"),
    [
        (["red"], "at least 2"),
        (["red", "red"], "twice"),
        (["red", " "], "empty"),
        (["red", "a||b"], "empty"),
        (["red", {"label": "x", "prompts": "y"}], "list of strings"),
        (["red", "x" * 400], "characters"),
        ([f"l{i}" for i in range(5)], "at most 4"),
    ],
)
def test_bad_labels(items: list[Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_labels(items, max_labels=4)


def test_label_vectors_are_ensembles_over_prompts_and_templates() -> None:
    enc = HashEncoder()
    labels = [Label("red", ("red", "crimson")), Label("blue", ("blue",))]
    v = label_vectors(labels, ["a {} thing", "{}"], enc.encode_texts)
    expected = vec("a red thing") + vec("red") + vec("a crimson thing") + vec("crimson")
    assert np.allclose(v[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
    assert len(enc.encoded) == 6  # one batch of every prompt


def test_zero_shot_uses_the_logit_scale() -> None:
    labels = np.stack([vec("a"), vec("b"), vec("c")])
    images = np.stack([vec("a"), 0.6 * vec("b") + 0.4 * vec("c")])
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    sims, probs = zero_shot(images, labels, 100.0)
    assert np.allclose(sims, images @ labels.T, atol=1e-6)
    assert np.allclose(probs, softmax_probs(sims, 100.0))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    out = classifications(["a", "b", "c"], sims, probs)
    assert [c.top_label for c in out] == ["a", "b"]
    assert out[0].probabilities["a"] > 0.99
    # A cooler temperature spreads the probabilities.
    _, soft = zero_shot(images, labels, 1.0)
    assert soft[0].max() < probs[0].max()


def test_label_set_names() -> None:
    assert check_label_set("color_2") == "color_2"
    for bad in ("", "a.b", "x" * 33, "sp ace"):
        with pytest.raises(InvalidInput):
            check_label_set(bad)
