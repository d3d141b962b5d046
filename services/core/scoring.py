"""Zero-shot scoring as each model family was trained: the formula that turns cosines into probabilities.

- ``softmax`` (CLIP): softmax(logit_scale × cos) over the labels; a row sums to 1.
- ``sigmoid`` (SigLIP, SigLIP2): sigmoid(logit_scale × cos + logit_bias) per label, independent
  probabilities (a row need not sum to 1: an image can match several labels, or none).
- ``cosine``: the model has no learned logit scale (nothing says how to calibrate its cosines), so labels
  are ranked by cosine similarity and no probabilities are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

ScoringKind = Literal["softmax", "sigmoid", "cosine"]

NOTES: dict[ScoringKind, str] = {
    "softmax": "softmax over the labels with the model's logit scale (CLIP); probabilities sum to 1",
    "sigmoid": "per-label sigmoid(logit_scale * cosine + logit_bias) (SigLIP); independent probabilities",
    "cosine": "this model has no logit scale: labels are ranked by cosine similarity, no probabilities",
}


@dataclass(frozen=True)
class Scoring:
    """How a model scores image–label cosines: ``kind`` with its learned ``scale`` (already exponentiated)
    and ``bias`` (SigLIP's ``logit_bias``)."""

    kind: ScoringKind = "softmax"
    scale: float | None = None
    bias: float | None = None

    def __post_init__(self) -> None:
        if self.kind != "cosine" and not (self.scale is not None and np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"{self.kind} scoring needs a finite positive logit scale, got {self.scale}")
        if self.kind == "sigmoid" and not (self.bias is not None and np.isfinite(self.bias)):
            raise ValueError(f"sigmoid scoring needs a finite logit bias, got {self.bias}")

    @property
    def note(self) -> str:
        return NOTES[self.kind]

    def probabilities(self, similarities: npt.ArrayLike) -> npt.NDArray[np.float32] | None:
        """(…, k) cosines → (…, k) probabilities under this model's formula; None for ``cosine``."""
        if self.kind == "cosine":
            return None
        assert self.scale is not None
        if self.kind == "sigmoid":
            assert self.bias is not None
            return sigmoid_probs(similarities, self.scale, self.bias)
        return softmax(similarities, self.scale)


def softmax(similarities: npt.ArrayLike, logit_scale: float) -> npt.NDArray[np.float32]:
    """softmax(logit_scale × similarities) over the last axis; rows sum to 1."""
    if not (np.isfinite(logit_scale) and logit_scale > 0):
        raise ValueError(f"logit_scale must be a finite positive number, got {logit_scale}")
    s = np.asarray(similarities, dtype=np.float64) * logit_scale
    if s.ndim == 0 or s.shape[-1] == 0:
        raise ValueError("softmax needs at least one similarity on the last axis")
    # Subtracting the row max keeps exp() from overflowing; it does not change the result.
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    out: npt.NDArray[np.float32] = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


def sigmoid_probs(similarities: npt.ArrayLike, logit_scale: float, logit_bias: float) -> npt.NDArray[np.float32]:
    """sigmoid(logit_scale × similarities + logit_bias), elementwise (SigLIP's own formula)."""
    z = np.asarray(similarities, dtype=np.float64) * logit_scale + logit_bias
    # The two-branch form never overflows exp().
    e = np.exp(-np.abs(z))
    out: npt.NDArray[np.float32] = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)
    return out
