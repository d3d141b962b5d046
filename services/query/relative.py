"""Relative scores: a hit's score against the collection's distribution of scores for the same query.

Raw cosines are small and drift from query to query (0.91 relevant in one, 0.88 in another), so each hit
also gets a z-score and a percentile against the scores of a *stated sample*: ``sample`` stored vectors
drawn with ``numpy.random.default_rng(seed)`` from the collection's rows sorted by id (all of them when
the collection is smaller). With background prompts (the seed's keyboard mash, ``"3hlufakjsdnfa3fnaj;ld"``)
the relative score is ``r(x) = sim(x, q) − mean_j sim(x, bg_j)``: what the query adds over a meaningless
prompt; otherwise ``r(x) = sim(x, q)``. Then z = (r − mean) / std and percentile = 100 · #{sample r ≤ r} / n.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.core.types import Payload, Vector
from services.query.matrix import VectorMatrices, VectorMatrix, sample_rows, stream_scores
from services.query.resolve import Resolver
from services.query.search import QueryInfo, SearchResult, compose_expression
from services.vectorstore.base import VectorStore


@dataclass(frozen=True)
class Baseline:
    """The sample's relative scores, sorted, and their mean and standard deviation (cosine units)."""

    scores: npt.NDArray[np.float64]
    mean: float
    std: float
    seed: int
    points: int  # rows the sample was drawn from (points that have the searched vector)

    @property
    def sample(self) -> int:
        return int(self.scores.size)


def relative_scores(x: Vector, query: Vector, background: Vector | None) -> npt.NDArray[np.float64]:
    """r for each row of ``x`` (n, d): x · q, minus the mean of x · bg_j over the (k, d) ``background`` rows."""
    x64 = np.atleast_2d(np.asarray(x, dtype=np.float64))
    r = x64 @ np.asarray(query, dtype=np.float64)
    if background is not None and len(background):
        r = r - (x64 @ np.asarray(background, dtype=np.float64).T).mean(axis=1)
    out: npt.NDArray[np.float64] = r
    return out


def baseline(matrix: VectorMatrix, query: Vector, background: Vector | None, sample: int, seed: int) -> Baseline:
    """The stated sample's relative scores for ``query`` (rows ``sample_rows(n, sample, seed)``)."""
    n = len(matrix.ids)
    if n < 2:
        raise InvalidInput("relative scores need a collection of at least 2 points with this vector")
    rows = sample_rows(n, sample, seed)
    r = np.sort(relative_scores(matrix.matrix[rows], query, background))
    return Baseline(r, float(r.mean()), float(r.std()), seed, n)


def streamed_baseline(
    store: VectorStore, collection: str, using: str, query: Vector, background: Vector | None, sample: int, seed: int
) -> Baseline:
    """``baseline`` for a collection too large to cache: every point's relative score from one streamed
    scan (rows sorted by id, as in the matrix), then the same stated sample of them."""
    scored = stream_scores(store, collection, using, lambda x: relative_scores(x, query, background))
    n = len(scored.ids)
    if n < 2:
        raise InvalidInput("relative scores need a collection of at least 2 points with this vector")
    r = np.sort(scored.scores[sample_rows(n, sample, seed), 0])
    return Baseline(r, float(r.mean()), float(r.std()), seed, n)


def z_scores(r: npt.ArrayLike, base: Baseline) -> npt.NDArray[np.float64]:
    """(r − mean) / std of the sample; 0 where the sample has no spread."""
    v = np.asarray(r, dtype=np.float64)
    if base.std == 0.0:
        return np.zeros_like(v)
    out: npt.NDArray[np.float64] = (v - base.mean) / base.std
    return out


def percentiles(r: npt.ArrayLike, base: Baseline) -> npt.NDArray[np.float64]:
    """100 · (share of the sample whose relative score is ≤ r), in [0, 100]."""
    v = np.asarray(r, dtype=np.float64)
    out: npt.NDArray[np.float64] = 100.0 * np.searchsorted(base.scores, v, side="right") / base.sample
    return out


@dataclass(frozen=True)
class RelativeHit:
    """A search hit with its relative score: ``z`` and ``percentile`` against the stated sample."""

    id: str
    score: float
    payload: Payload
    z: float
    percentile: float
    relative_score: float | None = None  # score minus the background prompts' mean similarity (with background)
    contributions: dict[str, float] | None = None


@dataclass(frozen=True)
class RelativeInfo:
    """How the relative scores were made: the sample, its statistics, the background, the cut-offs."""

    sample: int
    seed: int
    points: int
    mean: float
    std: float
    background: list[str]  # canonical expressions of the background prompts
    min_z: float | None
    min_percentile: float | None
    cut: int  # hits dropped by the cut-offs


@dataclass(frozen=True)
class RelativeSearch:
    hits: list[RelativeHit]
    query: QueryInfo
    relative: RelativeInfo
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the search's own (services/query/filter_keys.py)


def with_relative(
    result: SearchResult,
    resolver: Resolver,
    matrices: VectorMatrices,
    limits: Limits,
    options: RelativeOptions,
    using: str = "image",
) -> RelativeSearch:
    """``result``'s hits with z-scores and percentiles, cut at ``min_z`` / ``min_percentile``."""
    if result.vector is None:
        raise ValueError("the search result carries no query vector")
    t0 = time.perf_counter()
    bg_vectors = None
    bg_labels: list[str] = []
    if options.background:
        composed = [compose_expression(b, resolver, limits) for b in options.background]
        bg_vectors = np.stack([c.vector for c in composed]).astype(np.float32)
        bg_labels = [c.info(using).expression for c in composed]
    m = matrices.get(resolver.store, resolver.collection, using)
    if m is not None:
        base = baseline(m, result.vector, bg_vectors, options.sample, options.seed)
    else:
        store, name = resolver.store, resolver.collection
        base = streamed_baseline(store, name, using, result.vector, bg_vectors, options.sample, options.seed)
    hits = result.hits
    r = np.asarray([h.score for h in hits], dtype=np.float64)
    if bg_vectors is not None and hits:
        found = {p.id: p for p in resolver.store.retrieve(resolver.collection, [h.id for h in hits], True)}
        x = np.stack([found[h.id].vectors[using] for h in hits]).astype(np.float32)
        r = r - (x.astype(np.float64) @ bg_vectors.astype(np.float64).T).mean(axis=1)
    z, pct = z_scores(r, base), percentiles(r, base)
    out = []
    for j, h in enumerate(hits):
        if options.min_z is not None and z[j] < options.min_z:
            continue
        if options.min_percentile is not None and pct[j] < options.min_percentile:
            continue
        rel = float(r[j]) if bg_vectors is not None else None
        out.append(
            RelativeHit(
                h.id, h.score, h.payload, float(z[j]), float(pct[j]), relative_score=rel, contributions=h.contributions
            )
        )
    info = RelativeInfo(
        base.sample,
        base.seed,
        base.points,
        base.mean,
        base.std,
        bg_labels,
        options.min_z,
        options.min_percentile,
        cut=len(hits) - len(out),
    )
    timings = {**result.timings, "relative_ms": (time.perf_counter() - t0) * 1e3}
    return RelativeSearch(out, result.query, info, timings, result.warnings)


@dataclass(frozen=True)
class RelativeOptions:
    background: list[str]
    sample: int = 2_000
    seed: int = 0
    min_z: float | None = None
    min_percentile: float | None = None
