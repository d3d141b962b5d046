"""Paths through embedding space: order points so that related ones sit next to each other, and walks.

Distances are angles between unit vectors, ``arccos(x · y)`` in radians (a metric on the sphere).
Ordering is an open travelling-salesperson path: nearest-neighbour tours from a few starts, the
shortest improved by 2-opt until no segment reversal shortens it. A walk goes from one unit vector to
another along the great circle (slerp) and takes the nearest unused point at each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.core.budget import check_time
from services.core.errors import InvalidInput
from services.core.types import Hit, Vector
from services.vectorstore.base import VectorStore
from services.vectorstore.filters import Filter

Matrix = npt.NDArray[np.float64]
# Improvements smaller than this (radians) are rounding, not progress; they would loop forever.
EPS = 1e-9
MAX_SWEEPS = 100


def angular_distances(x: Vector) -> Matrix:
    """(n, n) angles in radians between the rows of ``x`` (each row normalised first)."""
    v = np.asarray(x, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return np.arccos(np.clip(v @ v.T, -1.0, 1.0))


def path_length(d: Matrix, order: Sequence[int]) -> float:
    """Sum of the distances between consecutive points of ``order`` (an open path)."""
    idx = np.asarray(order, dtype=np.intp)
    return float(d[idx[:-1], idx[1:]].sum()) if len(idx) > 1 else 0.0


def nearest_neighbour_path(d: Matrix, start: int) -> list[int]:
    """Greedy open path from ``start``: always go to the closest point not yet visited."""
    n = d.shape[0]
    visited = np.zeros(n, dtype=bool)
    order = [start]
    visited[start] = True
    for _ in range(n - 1):
        row = np.where(visited, np.inf, d[order[-1]])
        nxt = int(np.argmin(row))
        order.append(nxt)
        visited[nxt] = True
    return order


def two_opt(d: Matrix, order: Sequence[int], fixed_start: bool = False, max_sweeps: int = MAX_SWEEPS) -> list[int]:
    """Improve an open path by reversing segments ``order[i..j]`` while that shortens it.

    With ``fixed_start`` the first point stays first. Each sweep takes, for every i, the best j.
    """
    o = np.asarray(order, dtype=np.intp).copy()
    n = len(o)
    if n < 3:
        return o.tolist()
    for _ in range(max_sweeps):
        check_time("shortening the path")
        improved = False
        for i in range(1 if fixed_start else 0, n - 1):
            j = np.arange(i + 1, n)
            left = d[o[i - 1], o[j]] - d[o[i - 1], o[i]] if i > 0 else np.zeros(len(j))
            right = np.zeros(len(j))
            inner = j < n - 1
            jj = j[inner]
            right[inner] = d[o[i], o[jj + 1]] - d[o[jj], o[jj + 1]]
            delta = left + right
            best = int(np.argmin(delta))
            if delta[best] < -EPS:
                k = int(j[best])
                o[i : k + 1] = o[i : k + 1][::-1]
                improved = True
        if not improved:
            break
    return o.tolist()


@dataclass(frozen=True)
class PathResult:
    order: list[int]  # indices into the input
    length: float  # radians
    input_length: float  # the input order's length, radians


def shortest_path(x: Vector, start: int | None = None, starts: int = 8) -> PathResult:
    """A short open path through the rows of ``x``: best nearest-neighbour path (from ``start``, or from
    a few spread-out starts), then 2-opt."""
    n = len(x)
    d = angular_distances(x)
    if n <= 1:
        return PathResult(list(range(n)), 0.0, 0.0)
    if start is not None:
        candidates = [start]
    else:
        # The two ends of a far-apart pair are natural ends of an open path; a few more starts are cheap.
        far = int(np.argmax(d.sum(axis=1)))
        candidates = list(dict.fromkeys([far, int(np.argmax(d[far])), *np.linspace(0, n - 1, starts, dtype=int)]))
    tours = []
    for s in candidates:
        check_time("ordering the points")
        tours.append(nearest_neighbour_path(d, s))
    best = min(tours, key=lambda t: path_length(d, t))
    order = two_opt(d, best, fixed_start=start is not None)
    return PathResult(order, path_length(d, order), path_length(d, range(n)))


def slerp(a: Vector, b: Vector, t: float) -> Vector:
    """The unit vector a fraction ``t`` ∈ [0, 1] of the way from ``a`` to ``b`` along the great circle."""
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    va = va / np.linalg.norm(va)
    vb = vb / np.linalg.norm(vb)
    cos = float(np.clip(va @ vb, -1.0, 1.0))
    if cos < -1.0 + 1e-9:
        raise InvalidInput("the walk's two ends point in opposite directions: the path between them is undefined")
    omega = float(np.arccos(cos))
    if omega < 1e-9:
        return va.astype(np.float32)
    s = np.sin(omega)
    v = (np.sin((1 - t) * omega) / s) * va + (np.sin(t * omega) / s) * vb
    return (v / np.linalg.norm(v)).astype(np.float32)


@dataclass(frozen=True)
class WalkStep:
    t: float
    hit: Hit


def walk(
    store: VectorStore,
    collection: str,
    a: Vector,
    b: Vector,
    steps: int,
    using: str = "image",
    filter: Filter | None = None,
) -> list[WalkStep]:
    """``steps`` points from ``a`` to ``b``: at t = 0, 1/(steps−1), …, 1 the nearest point not yet taken.

    Stops early (fewer steps) when the collection (or the filter) runs out of points.
    """
    if steps < 2:
        raise InvalidInput(f"a walk needs at least 2 steps, got {steps}")
    used: set[str] = set()
    out: list[WalkStep] = []
    for i in range(steps):
        check_time("walking from A to B")
        t = i / (steps - 1)
        q = slerp(a, b, t)
        # The nearest unused point is among the len(used) + 1 nearest.
        hits = store.search(collection, q, using=using, limit=len(used) + 1, filter=filter)
        fresh = next((h for h in hits if h.id not in used), None)
        if fresh is None:
            break
        used.add(fresh.id)
        out.append(WalkStep(t, fresh))
    return out
