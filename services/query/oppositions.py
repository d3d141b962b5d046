"""Binary oppositions: order a collection by sim(x, A) − sim(x, B), exactly, with one kNN per pole.

For unit ``x``, ``A``, ``B``: sim(x, A) − sim(x, B) = x · (A − B) = (x · u) × ‖A − B‖ with
u = (A − B)/‖A − B‖. A kNN on ``u`` therefore lists the whole collection by decreasing delta, and a
kNN on ``−u`` by decreasing sim(x, B) − sim(x, A); each hit's delta is its score × ‖A − B‖.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.core.types import Hit, Vector
from services.query.compose import axis, contributions
from services.query.resolve import Resolver
from services.query.scan import PAGE, Coverage, scan, vectors_of
from services.query.search import Composed, QueryInfo, compose_expression, term_label
from services.vectorstore.filters import Filter


@dataclass(frozen=True)
class PoleHit:
    """One hit of a pole. ``delta``: this pole's similarity minus the other's (cosine units, [-2, 2])."""

    id: str
    payload: dict[str, object]
    delta: float
    sim_a: float
    sim_b: float
    contributions: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class Histogram:
    """Counts of sim(x, A) − sim(x, B) over the collection; ``edges`` has ``len(counts) + 1`` values.

    ``points``: the points counted; ``collection_points``: all of the collection's. Fewer counted means a
    uniform sample was (see ``services/query/scan.py``), and ``cdf_error`` bounds (95 %) how far the sample's
    cumulative share of points below any delta is from the whole collection's.
    """

    edges: list[float]
    counts: list[int]
    points: int
    mean: float
    std: float
    collection_points: int = 0
    cdf_error: float = 0.0


@dataclass(frozen=True)
class OppositionResult:
    a: list[PoleHit]
    b: list[PoleHit]
    query_a: QueryInfo
    query_b: QueryInfo
    axis_norm: float  # ‖A − B‖ of the two unit pole vectors, in (0, 2]
    histogram: Histogram | None = None
    timings: dict[str, float] = field(default_factory=dict)


def pole_hits(hits: list[Hit], using: str, a: Composed, b: Composed, norm: float, explain: bool) -> list[PoleHit]:
    """Hits of one pole with exact deltas and both raw similarities.

    ``hits`` must carry their ``using`` vectors. ``delta`` is score × ‖A − B‖ (the identity above);
    ``sim_a``/``sim_b`` are computed from the hit's vector. With ``explain``, each pole's per-term shares
    (``compose.contributions``) sum to ``sim_a`` and ``sim_b``.
    """
    if not hits:
        return []
    x = np.stack([_vector(h, using) for h in hits]).astype(np.float32)
    sim_a = x.astype(np.float64) @ a.vector.astype(np.float64)
    sim_b = x.astype(np.float64) @ b.vector.astype(np.float64)
    shares_a = shares_b = None
    if explain:
        shares_a = contributions(x, [t.weight for t in a.terms], a.term_vectors, a.norm)
        shares_b = contributions(x, [t.weight for t in b.terms], b.term_vectors, b.norm)
    labels_a = [term_label(t) for t in a.terms]
    labels_b = [term_label(t) for t in b.terms]
    out = []
    for j, h in enumerate(hits):
        contrib = None
        if shares_a is not None and shares_b is not None:
            contrib = {
                "a": dict(zip(labels_a, (float(c) for c in shares_a[j]), strict=True)),
                "b": dict(zip(labels_b, (float(c) for c in shares_b[j]), strict=True)),
            }
        out.append(PoleHit(h.id, h.payload, h.score * norm, float(sim_a[j]), float(sim_b[j]), contrib))
    return out


def _vector(h: Hit, using: str) -> Vector:
    if not h.vectors or using not in h.vectors:
        raise ValueError(f"hit {h.id} came back without its {using!r} vector")
    return h.vectors[using]


def histogram(values: Vector, bins: int, coverage: Coverage | None = None) -> Histogram:
    """Equal-width histogram of the deltas (``bins`` ≥ 1) over their own range."""
    v = np.asarray(values, dtype=np.float64)
    total = coverage.points if coverage is not None else int(v.size)
    error = coverage.cdf_error if coverage is not None else 0.0
    if v.size == 0:
        return Histogram([], [], 0, 0.0, 0.0, total, error)
    counts, edges = np.histogram(v, bins=bins)
    return Histogram(
        [float(e) for e in edges], [int(c) for c in counts], int(v.size), float(v.mean()), float(v.std()), total, error
    )


def collection_deltas(
    resolver: Resolver, using: str, diff: Vector, max_exact: int, page_size: int = PAGE
) -> tuple[Vector, Coverage]:
    """sim(x, A) − sim(x, B) = x · (A − B) for every point that has vector ``using`` (one streamed scan), or
    for a uniform sample of ``max_exact`` points when the collection has more."""
    batches, coverage = scan(resolver.store, resolver.collection, max_exact, page_size=page_size)
    out: list[Vector] = []
    d = diff.astype(np.float32)
    for page in batches:
        kept, x = vectors_of(page, using)
        if kept:
            out.append(x @ d)
    return (np.concatenate(out) if out else np.zeros(0, dtype=np.float32)), coverage


def oppositions(
    resolver: Resolver,
    a_expression: str,
    b_expression: str,
    limits: Limits,
    using: str = "image",
    limit: int = 20,
    filter: Filter | None = None,
    explain: bool = False,
    bins: int | None = None,
) -> OppositionResult:
    """Both poles of the opposition A vs B, each ``limit`` hits ordered by its own delta.

    ``bins``: also a histogram of the deltas over the whole collection (a scan: about a second per 100k
    points; a uniform sample of ``limits.scan_exact_points`` above that many; refused with a ``filter``).
    """
    if bins is not None and filter is not None and not filter.is_empty():
        raise InvalidInput("the histogram covers the whole collection; it cannot be combined with a filter")
    t0 = time.perf_counter()
    a = compose_expression(a_expression, resolver, limits)
    b = compose_expression(b_expression, resolver, limits)
    ax = axis(a.vector, b.vector)
    t1 = time.perf_counter()
    store, name = resolver.store, resolver.collection
    # Both poles in one call: a Qdrant server answers them in one round trip.
    hits_a, hits_b = store.search_many(
        name, [ax.direction, -ax.direction], using=using, limit=limit, filter=filter, with_vectors=True
    )
    t2 = time.perf_counter()
    pole_a = pole_hits(hits_a, using, a, b, ax.norm, explain)
    pole_b = pole_hits(hits_b, using, a, b, ax.norm, explain)
    hist = None
    timings = {"compose_ms": (t1 - t0) * 1e3, "knn_ms": (t2 - t1) * 1e3}
    if bins is not None:
        diff = (a.vector.astype(np.float64) - b.vector).astype(np.float32)
        deltas, coverage = collection_deltas(resolver, using, diff, limits.scan_exact_points)
        hist = histogram(deltas, bins, coverage)
        timings["histogram_ms"] = (time.perf_counter() - t2) * 1e3
    return OppositionResult(pole_a, pole_b, a.info(using), b.info(using), ax.norm, hist, timings)
