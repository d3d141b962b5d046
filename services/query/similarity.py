"""Similarity matrices (bias probing): image terms × text terms → cosines, with optional row contrasts.

A contrast is the difference between two rows for every column, e.g. "composite woman" minus
"composite man" against ["a doctor", "a nurse", …]: positive where the first row is closer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import Vector


@dataclass(frozen=True)
class Contrast:
    """Row ``a`` minus row ``b`` for each column (cosine units, [-2, 2])."""

    a: str
    b: str
    values: list[float]


@dataclass(frozen=True)
class SimilarityMatrix:
    rows: list[str]
    columns: list[str]
    matrix: list[list[float]]  # rows × columns cosine similarities in [-1, 1]
    contrasts: list[Contrast]
    probabilities: list[list[float]] | None = None  # softmax over each row's columns, if asked


def cosine_matrix(rows: Vector, columns: Vector) -> Vector:
    """(n, k) dot products of unit rows and unit columns, i.e. cosine similarities."""
    return (np.asarray(rows, dtype=np.float64) @ np.asarray(columns, dtype=np.float64).T).astype(np.float32)


def resolve_pair(pair: Sequence[int | str], labels: Sequence[str], i: int) -> tuple[int, int]:
    """A contrast given as two row indices or two row labels → two indices."""
    if len(pair) != 2:
        raise InvalidInput(f"contrasts[{i}] must name two rows, got {len(pair)}")
    out = []
    for ref in pair:
        if isinstance(ref, int) and not isinstance(ref, bool):
            if not 0 <= ref < len(labels):
                raise InvalidInput(f"contrasts[{i}] refers to row {ref}, but there are {len(labels)} rows")
            out.append(ref)
        elif isinstance(ref, str) and ref in labels:
            if labels.count(ref) > 1:
                raise InvalidInput(f"contrasts[{i}]: row label {ref!r} is ambiguous; use its index")
            out.append(labels.index(ref))
        else:
            raise InvalidInput(f"contrasts[{i}] refers to an unknown row {ref!r}")
    if out[0] == out[1]:
        raise InvalidInput(f"contrasts[{i}] compares a row with itself")
    return out[0], out[1]


def contrasts(matrix: Vector, labels: Sequence[str], pairs: Sequence[Sequence[int | str]]) -> list[Contrast]:
    out = []
    for i, pair in enumerate(pairs):
        a, b = resolve_pair(pair, labels, i)
        out.append(Contrast(labels[a], labels[b], [float(v) for v in matrix[a] - matrix[b]]))
    return out


def to_csv(m: SimilarityMatrix) -> str:
    """The matrix as CSV: a header of column labels, one line per row; contrasts as ``a − b`` lines."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["", *m.columns])
    for label, row in zip(m.rows, m.matrix, strict=True):
        w.writerow([label, *(f"{v:.6f}" for v in row)])
    for c in m.contrasts:
        w.writerow([f"{c.a} − {c.b}", *(f"{v:.6f}" for v in c.values)])
    return buf.getvalue()
