"""Paths through embedding space: order points so that related ones sit next to each other, and walks.

Distances are angles between unit vectors, ``arccos(x · y)`` in radians (a metric on the sphere).
Ordering is an open travelling-salesperson path: nearest-neighbour tours from a few starts, the
shortest improved by 2-opt until no segment reversal shortens it. A walk goes from one unit vector to
another along the great circle (slerp) and takes the nearest unused point at each step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.core.budget import check_time
from services.core.errors import InvalidInput, PointNotFound
from services.core.settings import Limits
from services.core.types import Hit, Payload, Vector
from services.query.resolve import Resolver
from services.query.search import QueryInfo, compose_expression
from services.vectorstore.base import VectorStore, parse_point_id
from services.vectorstore.filters import Filter

Matrix = npt.NDArray[np.float64]
# Improvements smaller than this (radians) are rounding, not progress; they would loop forever.
EPS = 1e-9
MAX_SWEEPS = 100


def angular_distances(x: Vector) -> Matrix:
    """(n, n) angles in radians between the rows of ``x`` (each row normalised first)."""
    v = np.asarray(x, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    out: npt.NDArray[np.float64] = np.arccos(np.clip(v @ v.T, -1.0, 1.0))
    return out


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
        return [int(i) for i in o]
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
    return [int(i) for i in o]


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
    out: npt.NDArray[np.float32] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


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


@dataclass(frozen=True)
class PathPoint:
    id: str
    payload: Payload
    step: float  # angle to the previous point, radians (0 for the first)


@dataclass(frozen=True)
class WalkPoint:
    t: float
    id: str
    score: float
    payload: Payload


@dataclass(frozen=True)
class WalkSpec:
    start: str  # expression at t = 0
    end: str  # expression at t = 1
    steps: int


@dataclass(frozen=True)
class OrderedPath:
    order: list[PathPoint]
    length: float  # radians
    input_length: float  # the points in the order given (or ranked), radians
    walk: list[WalkPoint] | None = None
    query: QueryInfo | None = None  # what ``expression`` was understood as


def order_path(
    make_resolver: Callable[[], Resolver],
    limits: Limits,
    *,
    ids: Sequence[str] | None = None,
    expression: str | None = None,
    limit: int = 20,
    start: str | None = None,
    walk_spec: WalkSpec | None = None,
    using: str = "image",
    filter: Filter | None = None,
) -> OrderedPath:
    """Order points (``ids``, or the top ``limit`` hits of ``expression``) along a short open path, the
    first at ``start`` if given; with ``walk_spec`` also a slerp walk between two expressions.

    ``make_resolver`` is called once the request's bounds are checked (it may encode uploads and
    read the collection's means, work a refused request should not cost)."""
    if ids is not None and expression is not None:
        raise InvalidInput("give either 'ids' or 'expression', not both")
    if ids is None and expression is None and walk_spec is None:
        raise InvalidInput("give 'ids' or 'expression' to order, or a 'walk'")
    n = len(ids) if ids is not None else limit
    if (ids is not None or expression is not None) and n > limits.max_path_points:
        raise InvalidInput(f"a path may order at most {limits.max_path_points} points, got {n}")
    if walk_spec is not None and walk_spec.steps > limits.max_walk_steps:
        raise InvalidInput(f"a walk may take at most {limits.max_walk_steps} steps, got {walk_spec.steps}")
    resolver = make_resolver()
    keys, payloads, vectors, query = _points(resolver, limits, ids, expression, limit, using, filter)
    order: list[PathPoint] = []
    length = input_length = 0.0
    if keys:
        first = None
        if start is not None:
            key = parse_point_id(start) or start
            if key not in keys:
                raise InvalidInput(f"start {start!r} is not one of the points to order")
            first = keys.index(key)
        res = shortest_path(vectors, first)
        x = vectors.astype(np.float64)
        prev = None
        for i in res.order:
            step = 0.0 if prev is None else float(np.arccos(np.clip(x[prev] @ x[i], -1.0, 1.0)))
            order.append(PathPoint(keys[i], payloads[i], step))
            prev = i
        length, input_length = res.length, res.input_length
    walked = None
    if walk_spec is not None:
        a = compose_expression(walk_spec.start, resolver, limits).vector
        b = compose_expression(walk_spec.end, resolver, limits).vector
        steps = walk(resolver.store, resolver.collection, a, b, walk_spec.steps, using=using, filter=filter)
        walked = [WalkPoint(s.t, s.hit.id, s.hit.score, s.hit.payload) for s in steps]
    return OrderedPath(order, length, input_length, walked, query)


def _points(
    resolver: Resolver,
    limits: Limits,
    ids: Sequence[str] | None,
    expression: str | None,
    limit: int,
    using: str,
    flt: Filter | None,
) -> tuple[list[str], list[Payload], Vector, QueryInfo | None]:
    """The points to order: ids (all must exist, no repeats) or an expression's top hits."""
    store = resolver.store
    if ids is not None:
        keys = [parse_point_id(i) or i for i in ids]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise InvalidInput(f"point {dup!r} is listed twice")
        found = {r.id: r for r in store.retrieve(resolver.collection, keys, with_vectors=True)}
        for raw, key in zip(ids, keys, strict=True):
            if key not in found:
                raise PointNotFound(raw, resolver.label)
            if using not in found[key].vectors:
                raise InvalidInput(f"point {raw!r} has no {using} vector")
        recs = [found[k] for k in keys]
        return keys, [r.payload for r in recs], np.stack([r.vectors[using] for r in recs]), None
    if expression is None:
        return [], [], np.zeros((0, 0), dtype=np.float32), None
    composed = compose_expression(expression, resolver, limits)
    hits = store.search(resolver.collection, composed.vector, using=using, limit=limit, filter=flt, with_vectors=True)
    kept = [(h, h.vectors[using]) for h in hits if h.vectors and using in h.vectors]
    vectors = np.stack([v for _, v in kept]) if kept else np.zeros((0, 0), dtype=np.float32)
    return [h.id for h, _ in kept], [h.payload for h, _ in kept], vectors, composed.info(using)
