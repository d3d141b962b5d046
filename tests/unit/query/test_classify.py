"""Zero-shot classification math and label parsing (the collection-wide job: tests/unit/jobs/test_classify_jobs.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.core.scoring import Scoring, softmax
from services.query.classify import (
    Label,
    check_label_set,
    classifications,
    label_vectors,
    parse_label,
    parse_labels,
    zero_shot,
)
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
    sims, probs = zero_shot(images, labels, Scoring("softmax", 100.0))
    assert probs is not None
    assert np.allclose(sims, images @ labels.T, atol=1e-6)
    assert np.allclose(probs, softmax(sims, 100.0))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    out = classifications(["a", "b", "c"], sims, probs)
    assert [c.top_label for c in out] == ["a", "b"]
    assert out[0].probabilities["a"] > 0.99
    # A cooler temperature spreads the probabilities.
    _, soft = zero_shot(images, labels, Scoring("softmax", 1.0))
    assert soft is not None and soft[0].max() < probs[0].max()


def test_siglip_scoring_is_a_per_label_sigmoid_with_the_bias() -> None:
    """SigLIP's own formula, sigmoid(scale · cos + bias) per label: not softmax, and rows need not sum to 1."""
    labels = np.stack([vec("a"), vec("b"), vec("c")])
    q, _ = np.linalg.qr(labels.T.astype(np.float64))
    unrelated = vec("z") - (q @ (q.T @ vec("z")))  # orthogonal to every label: cosine 0 with each
    images = np.stack([vec("a"), unrelated / np.linalg.norm(unrelated)]).astype(np.float32)
    sims, probs = zero_shot(images, labels, Scoring("sigmoid", 112.0, -16.5))
    assert probs is not None
    expected = 1 / (1 + np.exp(-(112.0 * (images.astype(np.float64) @ labels.T) - 16.5)))
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-7)
    assert probs[0, 0] > 0.99 and probs[1].max() < 0.01  # an image may match no label at all
    assert not np.allclose(probs.sum(axis=1), 1.0)
    assert classifications(["a", "b", "c"], sims, probs)[0].top_label == "a"
    # Extreme logits neither overflow nor give NaN.
    far = Scoring("sigmoid", 1e4, 0.0).probabilities(np.array([[1.0, -1.0]]))
    assert far is not None and far.tolist() == [[1.0, 0.0]]


def test_a_model_without_logit_scale_ranks_by_cosine_with_no_probabilities() -> None:
    labels = np.stack([vec("a"), vec("b")])
    images = np.stack([0.3 * vec("a") + 0.7 * vec("b")])
    sims, probs = zero_shot(images, labels, Scoring("cosine"))
    assert probs is None
    (out,) = classifications(["a", "b"], sims, probs)
    assert out.top_label == "b" and out.probabilities is None
    assert "no logit scale" in Scoring("cosine").note


@pytest.mark.parametrize(
    ("kind", "scale", "bias"),
    [("softmax", None, None), ("softmax", 0.0, None), ("sigmoid", 10.0, None), ("sigmoid", float("nan"), 0.0)],
)
def test_a_scoring_rule_needs_its_parameters(kind, scale, bias) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        Scoring(kind, scale, bias)


def test_label_set_names() -> None:
    assert check_label_set("color_2") == "color_2"
    for bad in ("", "a.b", "x" * 33, "sp ace"):
        with pytest.raises(InvalidInput):
            check_label_set(bad)
