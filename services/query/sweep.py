"""Weight sweeps: the top k of ``expression + w·term`` at each of several weights w, from one embedding.

The expression's terms and the term's terms are resolved once; at each weight the combined term list
``[wᵢtᵢ …] + [w·vⱼuⱼ …]`` is composed exactly as a search would compose the expression written out
(``compose``: the unit vector of Σ weight × term vector), so the top k at weight w are the hits of the
search ``expression + w*(term)``. Each weight costs one kNN; a weight at which the terms cancel out
(no direction to search in) is reported as such instead of failing the whole sweep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.core.types import Payload
from services.query.ast import WeightedTerm
from services.query.compose import compose
from services.query.resolve import Resolver
from services.query.search import QueryInfo, compose_expression
from services.vectorstore.filters import Filter


@dataclass(frozen=True)
class SweepHit:
    id: str
    score: float  # cosine similarity to the query at this weight, in [-1, 1]
    payload: Payload


@dataclass(frozen=True)
class SweepStep:
    weight: float
    hits: list[SweepHit]
    norm: float  # ‖Σ wᵢtᵢ‖ of the combined terms at this weight (0 when they cancel)
    error: str | None = None  # why there are no hits at this weight (the terms cancel out)


@dataclass(frozen=True)
class SweepResult:
    steps: list[SweepStep]
    query: QueryInfo
    term: QueryInfo
    timings: dict[str, float] = field(default_factory=dict)


def combined_terms(base: list[WeightedTerm], term: list[WeightedTerm], weight: float) -> list[float]:
    """The weights of ``base + weight·(term)``: the base's as written, the term's each scaled by ``weight``."""
    return [t.weight for t in base] + [weight * t.weight for t in term]


def sweep(
    resolver: Resolver,
    expression: str,
    term: str,
    weights: list[float],
    limits: Limits,
    using: str = "image",
    limit: int = 10,
    filter: Filter | None = None,
) -> SweepResult:
    """Top ``limit`` hits of ``expression + w*(term)`` for each ``w`` in ``weights`` (in the order given)."""
    if not weights:
        raise InvalidInput("give at least one weight")
    t0 = time.perf_counter()
    base = compose_expression(expression, resolver, limits)
    extra = compose_expression(term, resolver, limits)
    if len(base.terms) + len(extra.terms) > limits.max_terms:
        raise InvalidInput(
            f"expression and term have {len(base.terms) + len(extra.terms)} terms together, "
            f"at most {limits.max_terms} are allowed"
        )
    vectors = np.concatenate([base.term_vectors, extra.term_vectors]).astype(np.float32)
    t1 = time.perf_counter()
    steps = []
    for w in weights:
        try:
            comp = compose(combined_terms(base.terms, extra.terms, w), vectors)
        except InvalidInput as exc:
            steps.append(SweepStep(w, [], 0.0, exc.message))
            continue
        hits = resolver.store.search(resolver.collection, comp.vector, using=using, limit=limit, filter=filter)
        steps.append(SweepStep(w, [SweepHit(h.id, h.score, h.payload) for h in hits], float(comp.norm)))
    t2 = time.perf_counter()
    timings = {"compose_ms": (t1 - t0) * 1e3, "knn_ms": (t2 - t1) * 1e3}
    return SweepResult(steps, base.info(using), extra.info(using), timings)
