"""The opposition plane: every point placed by two oppositions, x = sim(p, Aₓ) − sim(p, Bₓ) and likewise y.

Each pole is an expression composed as for ``/oppositions`` (``compose_expression``: a unit vector), so
for unit ``p`` a coordinate is the exact delta ``p · (A − B)`` in cosine units, in [-2, 2]. The deltas
come from one matrix product over the collection's cached vectors (``services/query/matrix.py``), or,
for a collection too large to cache, from its vectors streamed a page at a time through this request.

Above ``sample`` points a seeded random sample (rows sorted by id, ``numpy.random.default_rng(seed)``,
without replacement) is placed; the quadrant extremes are always taken over every matching point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.core.settings import Limits
from services.core.types import Payload, Vector
from services.query.compose import axis
from services.query.matrix import StreamedScores, VectorMatrices, sample_rows, stream_scores
from services.query.resolve import Resolver
from services.query.search import QueryInfo, compose_expression
from services.vectorstore.filters import Filter

# Quadrants by the pole each coordinate leans to: "a" is x (or y) > 0, toward that axis's pole A.
QUADRANTS: tuple[tuple[str, str], ...] = (("a", "a"), ("b", "a"), ("b", "b"), ("a", "b"))


@dataclass(frozen=True)
class AxisInfo:
    """One axis: its poles as understood, ‖A − B‖ of the unit poles, and the spread of the placed deltas."""

    a: QueryInfo
    b: QueryInfo
    norm: float
    min: float
    max: float
    mean: float
    std: float


@dataclass(frozen=True)
class Extreme:
    id: str
    x: float
    y: float
    payload: Payload


@dataclass(frozen=True)
class Quadrant:
    """The points leaning furthest to ``x`` and ``y`` at once: ranked by min(±x/σₓ, ±y/σᵧ), best first."""

    x: str  # "a" or "b"
    y: str
    count: int  # matching points in this quadrant (both coordinates strictly on its side)
    extremes: list[Extreme]


@dataclass(frozen=True)
class PlaneResult:
    ids: list[str]
    x: Vector  # (n,) float32 deltas of the placed points
    y: Vector
    x_axis: AxisInfo
    y_axis: AxisInfo
    total: int  # points that match (have the vector, pass the filter)
    seed: int
    quadrants: list[Quadrant]
    timings: dict[str, float] = field(default_factory=dict)
    streamed: bool = False  # the vectors were streamed through the request (too many to cache)

    @property
    def sampled(self) -> bool:
        return len(self.ids) < self.total


def pole_difference(a: Vector, b: Vector) -> npt.NDArray[np.float64]:
    """A − B of two unit pole vectors (float64), so that p · (A − B) = sim(p, A) − sim(p, B)."""
    out: npt.NDArray[np.float64] = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return out


def deltas(matrix: Vector, diff: npt.NDArray[np.float64]) -> Vector:
    """sim(p, A) − sim(p, B) for every row p of ``matrix`` (n, d): one float32 product, cosine units."""
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    out: Vector = matrix @ diff.astype(np.float32)
    return out


def quadrant_extremes(x: Vector, y: Vector, k: int) -> list[tuple[str, str, int, npt.NDArray[np.int64]]]:
    """For each quadrant: its key, how many points lie in it and the indices of its ``k`` most extreme.

    A point's extremity in quadrant (sₓ, sᵧ) is min(sₓ·x/σₓ, sᵧ·y/σᵧ): a point far along one axis and
    at zero on the other is not a corner. σ is each coordinate's standard deviation (1 if it is 0).
    """
    sx = float(x.std()) or 1.0 if x.size else 1.0
    sy = float(y.std()) or 1.0 if y.size else 1.0
    out = []
    for qx, qy in QUADRANTS:
        fx = 1.0 if qx == "a" else -1.0
        fy = 1.0 if qy == "a" else -1.0
        inside = np.flatnonzero((fx * x > 0) & (fy * y > 0))
        score = np.minimum(fx * x[inside] / sx, fy * y[inside] / sy)
        top = inside[np.argsort(-score, kind="stable")[:k]] if k > 0 else inside[:0]
        out.append((qx, qy, int(inside.size), top.astype(np.int64)))
    return out


def _axis(a: QueryInfo, b: QueryInfo, diff: npt.NDArray[np.float64], values: Vector) -> AxisInfo:
    v = values.astype(np.float64)
    if v.size == 0:
        return AxisInfo(a, b, float(np.linalg.norm(diff)), 0.0, 0.0, 0.0, 0.0)
    return AxisInfo(a, b, float(np.linalg.norm(diff)), float(v.min()), float(v.max()), float(v.mean()), float(v.std()))


def plane(
    resolver: Resolver,
    matrices: VectorMatrices,
    poles: tuple[tuple[str, str], tuple[str, str]],
    limits: Limits,
    using: str = "image",
    sample: int = 100_000,
    seed: int = 0,
    filter: Filter | None = None,
    extremes: int = 6,
) -> PlaneResult:
    """Place the collection's points on the plane of two oppositions ``poles = ((Aₓ, Bₓ), (Aᵧ, Bᵧ))``.

    ``filter``: only the points that pass it (their ids come from one filtered kNN over all points).
    ``sample``: the most points placed; above it a seeded sample (``seed``) of the matching points.
    """
    t0 = time.perf_counter()
    (xa_expr, xb_expr), (ya_expr, yb_expr) = poles
    xa, xb = compose_expression(xa_expr, resolver, limits), compose_expression(xb_expr, resolver, limits)
    ya, yb = compose_expression(ya_expr, resolver, limits), compose_expression(yb_expr, resolver, limits)
    # Two equal poles would place every point at 0 on that axis: refuse, as /oppositions does.
    axis(xa.vector, xb.vector)
    axis(ya.vector, yb.vector)
    dx, dy = pole_difference(xa.vector, xb.vector), pole_difference(ya.vector, yb.vector)
    t1 = time.perf_counter()
    store, name = resolver.store, resolver.collection
    m = matrices.get(store, name, using)
    streamed: StreamedScores | None = None
    if m is None:  # too large to hold: both deltas of every point from one streamed scan
        streamed = stream_scores(store, name, using, lambda x: np.stack([deltas(x, dx), deltas(x, dy)], axis=1))
    ids, rows_of = (m.ids, m.rows_of) if m is not None else (streamed.ids, streamed.rows_of)  # type: ignore[union-attr]
    t2 = time.perf_counter()
    rows: npt.NDArray[np.int64] = np.arange(len(ids), dtype=np.int64)
    if filter is not None and not filter.is_empty() and len(ids):
        hits = store.search(name, xa.vector, using=using, limit=len(ids), filter=filter)
        rows = np.sort(rows_of([h.id for h in hits]))
    if m is not None:
        sub = m.matrix[rows] if len(rows) != len(ids) else m.matrix
        x_all, y_all = deltas(sub, dx), deltas(sub, dy)
    else:
        xy = streamed.scores[rows].astype(np.float32).reshape(len(rows), 2)  # type: ignore[union-attr]
        x_all, y_all = xy[:, 0].copy(), xy[:, 1].copy()
    t3 = time.perf_counter()
    quads = []
    for qx, qy, count, top in quadrant_extremes(x_all, y_all, extremes):
        top_ids = [ids[rows[i]] for i in top]
        payloads = {r.id: r.payload for r in store.retrieve(name, top_ids)} if top_ids else {}
        pairs = zip(top_ids, top, strict=True)
        points = [Extreme(p, float(x_all[i]), float(y_all[i]), payloads.get(p, {})) for p, i in pairs]
        quads.append(Quadrant(qx, qy, count, points))
    keep = sample_rows(len(rows), sample, seed)
    placed_x, placed_y = x_all[keep], y_all[keep]
    timings = {
        "compose_ms": (t1 - t0) * 1e3,
        "vectors_ms": (t2 - t1) * 1e3,
        "deltas_ms": (t3 - t2) * 1e3,
        "total_ms": (time.perf_counter() - t0) * 1e3,
    }
    return PlaneResult(
        ids=[ids[rows[i]] for i in keep],
        x=placed_x,
        y=placed_y,
        x_axis=_axis(xa.info(using), xb.info(using), dx, placed_x),
        y_axis=_axis(ya.info(using), yb.info(using), dy, placed_y),
        total=len(rows),
        seed=seed,
        quadrants=quads,
        timings=timings,
        streamed=streamed is not None,
    )
