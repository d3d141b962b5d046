"""Shared value types: vectors, stored points, search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
"""A float32 vector (1-D) or matrix (2-D, one vector a row). Unit norm unless said otherwise."""

VectorName = Literal["image", "text"]
VECTOR_NAMES: tuple[VectorName, ...] = ("image", "text")

Payload = dict[str, Any]


@dataclass(frozen=True)
class PointRecord:
    """One stored item: an id, its named vectors (``image`` always, ``text`` when it has alt-text), payload."""

    id: str
    vectors: dict[str, Vector] = field(default_factory=dict)
    payload: Payload = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A search result. ``score`` is the cosine similarity in [-1, 1] to the query vector."""

    id: str
    score: float
    payload: Payload
    vectors: dict[str, Vector] | None = None


def l2_normalize(x: npt.ArrayLike, eps: float = 1e-12) -> Vector:
    """Scale vectors (1-D, or rows of a 2-D array) to unit L2 norm, as float32."""
    arr = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(arr, axis=-1, keepdims=True)
    out: npt.NDArray[np.float32] = (arr / np.maximum(norm, eps)).astype(np.float32, copy=False)
    return out
