"""Composition math: weighted sums of unit vectors, per-term contributions, ensembles, axes, softmax.

Pure numpy. Inputs are float32 (other float dtypes are accepted); arithmetic runs in float64 so
identities hold to float32 precision; outputs are float32. Every stored and every composed vector
is unit norm, so the cosine similarity of a hit ``x`` and a query ``q`` is the dot product ``x · q``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from services.core.errors import InvalidInput
from services.core.types import Vector

# The composed sum counts as zero when its length is below this fraction of Σ|wᵢ| (the length it
# would have if all the terms pointed the same way): its direction would then be rounding noise.
CANCEL_TOLERANCE = 1e-6

Weights = Sequence[float] | npt.NDArray[np.floating]


class Composition(NamedTuple):
    """A composed query: ``vector`` = Σ wᵢtᵢ / ‖Σ wᵢtᵢ‖ (unit, float32, shape (d,)); ``norm`` = ‖Σ wᵢtᵢ‖."""

    vector: Vector
    norm: float


class Axis(NamedTuple):
    """An opposition axis: ``direction`` = (a − b)/‖a − b‖ (unit, float32); ``norm`` = ‖a − b‖ in (0, 2]."""

    direction: Vector
    norm: float


def _weights_and_terms(weights: Weights, vectors: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
    w = np.asarray(weights, dtype=np.float64)
    t = np.asarray(vectors, dtype=np.float64)
    if w.ndim != 1 or t.ndim != 2 or w.shape[0] != t.shape[0]:
        raise ValueError(f"expected k weights and a k×d matrix of term vectors, got {w.shape} and {t.shape}")
    return w, t


def compose(weights: Weights, vectors: Vector) -> Composition:
    """The unit query vector for the weighted sum of term vectors.

    ``weights``: k dimensionless floats. ``vectors``: (k, d), each row a unit vector.
    Raises ``InvalidInput`` when there are no terms, a weight is not finite, or the sum is (near)
    zero — ``"a" - "a"`` has no direction to search in.
    """
    w, t = _weights_and_terms(weights, vectors)
    if w.shape[0] == 0:
        raise InvalidInput("the expression has no terms")
    if not np.all(np.isfinite(w)):
        raise InvalidInput("every weight must be a finite number")
    total = w @ t
    norm = float(np.linalg.norm(total))
    scale = float(np.abs(w).sum())
    if scale == 0.0:
        raise InvalidInput("every weight in the expression is zero: the composed vector has zero length")
    if not norm > CANCEL_TOLERANCE * scale:
        raise InvalidInput("the expression's terms cancel out: the composed vector has zero length")
    return Composition((total / norm).astype(np.float32), norm)


def contributions(hits: Vector, weights: Weights, term_vectors: Vector, norm: float) -> Vector:
    """Each term's share of each hit's score: entry [j, i] = wᵢ · (xⱼ · tᵢ) / ‖Σ w t‖.

    ``hits``: (n, d) unit hit vectors (or one (d,) vector → result (k,)). ``weights``, ``term_vectors``
    and ``norm`` are those given to / returned by ``compose``. Row j sums to xⱼ · q, the hit's cosine
    score against the composed query, so the shares explain the score exactly (cosine units).
    """
    w, t = _weights_and_terms(weights, term_vectors)
    if not norm > 0.0:
        raise ValueError("norm must be the positive length returned by compose()")
    x = np.asarray(hits, dtype=np.float64)
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if x.ndim != 2 or x.shape[1] != t.shape[1]:
        raise ValueError(f"hit vectors of dimension {t.shape[1]} expected, got shape {np.shape(hits)}")
    shares = (x @ t.T) * (w / norm)
    out = shares.astype(np.float32)
    return out[0] if single else out


def ensemble(vectors: Vector) -> Vector:
    """A prompt ensemble's vector: normalize(mean of the (k, d) rows, each first made unit). Shape (d,).

    Raises ``InvalidInput`` when the prompts' vectors cancel out (a zero mean).
    """
    t = np.asarray(vectors, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"expected a non-empty (k, d) matrix of prompt vectors, got shape {t.shape}")
    # Rows should already be unit; normalising again costs nothing and keeps the mean fair.
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    mean = t.mean(axis=0)
    length = float(np.linalg.norm(mean))
    if not length > CANCEL_TOLERANCE:
        raise InvalidInput("the ensemble's prompts cancel out: their mean vector has zero length")
    out: npt.NDArray[np.float32] = (mean / length).astype(np.float32)
    return out


def axis(a: Vector, b: Vector) -> Axis:
    """The opposition axis from pole ``b`` to pole ``a`` (both (d,) vectors, normalised here).

    For any unit x: cos(x, a) − cos(x, b) = x · (â − b̂) = (x · direction) × norm. So a kNN on
    ``direction`` orders a collection by the similarity *difference*, and a hit's true delta (in
    cosine units, [-2, 2]) is its score times ``norm``. Raises ``InvalidInput`` for equal poles.
    """
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    if va.ndim != 1 or va.shape != vb.shape:
        raise ValueError(f"poles must be two vectors of one dimension, got shapes {va.shape} and {vb.shape}")
    lengths = (float(np.linalg.norm(va)), float(np.linalg.norm(vb)))
    if min(lengths) == 0.0:
        raise InvalidInput("an axis pole has zero length")
    diff = va / lengths[0] - vb / lengths[1]
    norm = float(np.linalg.norm(diff))
    if not norm > CANCEL_TOLERANCE:
        raise InvalidInput("the axis's two poles are the same: there is no direction between them")
    return Axis((diff / norm).astype(np.float32), norm)
