"""Composition math: unit queries, exact per-term contributions, ensembles, axes, softmax."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.core.scoring import softmax as softmax_probs
from services.core.types import Vector, l2_normalize
from services.query.compose import axis, compose, contributions, ensemble

D = 64


def unit_rows(rng: np.random.Generator, n: int, d: int = D) -> Vector:
    return l2_normalize(rng.standard_normal((n, d)))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def test_compose_is_the_normalised_weighted_sum(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 4)
    w = [1.0, -0.3, -0.5, 2.0]
    comp = compose(w, t)
    total = np.asarray(w, dtype=np.float64) @ t.astype(np.float64)
    assert comp.vector.dtype == np.float32 and comp.vector.shape == (D,)
    assert np.linalg.norm(comp.vector) == pytest.approx(1.0, abs=1e-6)
    assert comp.norm == pytest.approx(np.linalg.norm(total), rel=1e-9)
    np.testing.assert_allclose(comp.vector, total / np.linalg.norm(total), atol=1e-6)


def test_compose_single_term_is_that_term(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 1)
    comp = compose([0.25], t)
    np.testing.assert_allclose(comp.vector, t[0], atol=1e-6)
    assert comp.norm == pytest.approx(0.25)


def test_negative_single_weight_flips_direction(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 1)
    np.testing.assert_allclose(compose([-2.0], t).vector, -t[0], atol=1e-6)


def test_weights_as_numpy_array(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 3)
    w = np.array([0.5, 0.25, -1.0], dtype=np.float32)
    np.testing.assert_allclose(compose(w, t).vector, compose(list(map(float, w)), t).vector)


def test_terms_that_cancel_raise_a_domain_error(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 1)
    with pytest.raises(InvalidInput, match="terms cancel out: the composed vector has zero length"):
        compose([1.0, -1.0], np.vstack([t, t]))
    # Nearly cancelling to rounding noise is still "zero length".
    with pytest.raises(InvalidInput, match="cancel out"):
        compose([1.0, -(1.0 - 1e-9)], np.vstack([t, t]))


def test_all_zero_weights_and_no_terms(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 2)
    with pytest.raises(InvalidInput, match="every weight in the expression is zero"):
        compose([0.0, 0.0], t)
    with pytest.raises(InvalidInput, match="no terms"):
        compose([], np.zeros((0, D), dtype=np.float32))
    with pytest.raises(InvalidInput, match="finite"):
        compose([float("nan"), 1.0], t)


def test_zero_weight_terms_are_harmless(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 2)
    np.testing.assert_allclose(compose([1.0, 0.0], t).vector, t[0], atol=1e-6)


def test_compose_shape_mismatch_is_a_programming_error(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError):
        compose([1.0], unit_rows(rng, 2))
    with pytest.raises(ValueError):
        compose([1.0], unit_rows(rng, 1)[0])


@pytest.mark.parametrize("seed", range(5))
def test_contributions_sum_to_the_score(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 8))
    t = unit_rows(rng, k, 512)
    w = rng.uniform(-2, 2, size=k)
    comp = compose(w, t)
    x = unit_rows(rng, 20, 512)
    c = contributions(x, w, t, comp.norm)
    assert c.shape == (20, k) and c.dtype == np.float32
    scores = x @ comp.vector
    np.testing.assert_allclose(c.sum(axis=1), scores, atol=1e-5)
    # and each entry is wᵢ (x·tᵢ) / ‖Σ w t‖
    np.testing.assert_allclose(c, (x @ t.T) * w / comp.norm, atol=1e-6)


def test_contributions_of_one_hit_vector(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 3)
    w = [1.0, -0.5, 0.25]
    comp = compose(w, t)
    x = unit_rows(rng, 1)[0]
    c = contributions(x, w, t, comp.norm)
    assert c.shape == (3,)
    assert float(c.sum()) == pytest.approx(float(x @ comp.vector), abs=1e-6)


def test_contributions_validate(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 2)
    with pytest.raises(ValueError):
        contributions(unit_rows(rng, 1, D + 1), [1.0, 1.0], t, 1.0)
    with pytest.raises(ValueError):
        contributions(unit_rows(rng, 1), [1.0, 1.0], t, 0.0)


def test_ensemble_is_normalised_mean(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 3)
    e = ensemble(t)
    mean = t.astype(np.float64).mean(axis=0)
    assert e.dtype == np.float32 and e.shape == (D,)
    np.testing.assert_allclose(e, mean / np.linalg.norm(mean), atol=1e-6)
    # Each prompt counts equally even if a row was not quite unit length.
    np.testing.assert_allclose(ensemble(t * np.array([[1.0], [3.0], [0.5]], dtype=np.float32)), e, atol=1e-6)


def test_ensemble_of_one_is_itself_and_opposites_cancel(rng: np.random.Generator) -> None:
    t = unit_rows(rng, 1)
    np.testing.assert_allclose(ensemble(t), t[0], atol=1e-6)
    with pytest.raises(InvalidInput, match="cancel out"):
        ensemble(np.vstack([t, -t]))
    with pytest.raises(ValueError):
        ensemble(np.zeros((0, D), dtype=np.float32))


def test_axis_orders_by_similarity_difference(rng: np.random.Generator) -> None:
    a, b = unit_rows(rng, 2)
    ax = axis(a, b)
    assert ax.direction.dtype == np.float32
    assert np.linalg.norm(ax.direction) == pytest.approx(1.0, abs=1e-6)
    assert ax.norm == pytest.approx(float(np.linalg.norm(a - b)), rel=1e-6)
    x = unit_rows(rng, 50)
    delta = x @ a - x @ b
    score = x @ ax.direction
    np.testing.assert_allclose(delta, score * ax.norm, atol=1e-5)
    # one kNN on the direction orders the collection exactly by the delta
    assert list(np.argsort(-score)) == list(np.argsort(-delta))


def test_axis_normalises_its_poles(rng: np.random.Generator) -> None:
    a, b = unit_rows(rng, 2)
    ax = axis(3.0 * a, 0.5 * b)
    np.testing.assert_allclose(ax.direction, axis(a, b).direction, atol=1e-6)
    x = unit_rows(rng, 10)
    cos_a = (x @ (3.0 * a)) / np.linalg.norm(3.0 * a)
    cos_b = (x @ (0.5 * b)) / np.linalg.norm(0.5 * b)
    np.testing.assert_allclose(cos_a - cos_b, (x @ ax.direction) * ax.norm, atol=1e-5)


def test_axis_errors(rng: np.random.Generator) -> None:
    a = unit_rows(rng, 1)[0]
    with pytest.raises(InvalidInput, match="poles are the same"):
        axis(a, 2.0 * a)
    with pytest.raises(InvalidInput, match="zero length"):
        axis(a, np.zeros(D, dtype=np.float32))
    with pytest.raises(ValueError):
        axis(a, a[:-1])


def test_axis_of_opposite_poles_has_norm_two(rng: np.random.Generator) -> None:
    a = unit_rows(rng, 1)[0]
    ax = axis(a, -a)
    assert ax.norm == pytest.approx(2.0)
    np.testing.assert_allclose(ax.direction, a, atol=1e-6)


def test_softmax_probs() -> None:
    sims = np.array([[0.27, 0.25, 0.23, 0.18], [0.1, 0.1, 0.1, 0.1]], dtype=np.float32)
    p = softmax_probs(sims, 100.0)
    assert p.dtype == np.float32 and p.shape == sims.shape
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-6)
    logits = 100.0 * sims[0].astype(np.float64)
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(p[0], expected, atol=1e-6)
    np.testing.assert_allclose(p[1], 0.25, atol=1e-6)
    assert np.argmax(p[0]) == 0


def test_softmax_is_stable_for_large_scales() -> None:
    p = softmax_probs([1.0, -1.0, 0.0], 1e4)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [1.0, 0.0, 0.0], atol=1e-6)


def test_softmax_validates() -> None:
    with pytest.raises(ValueError):
        softmax_probs([0.1, 0.2], 0.0)
    with pytest.raises(ValueError):
        softmax_probs([0.1, 0.2], float("inf"))
    with pytest.raises(ValueError):
        softmax_probs([], 100.0)
