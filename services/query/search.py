"""Expression search: parse → resolve terms → compose (exact, numpy) → kNN → hits with explanations."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from services.core.metrics import QUERY_SECONDS
from services.core.settings import Limits
from services.core.types import Payload, Vector
from services.query.ast import TermKind, WeightedTerm, to_text
from services.query.compose import compose, contributions
from services.query.parser import parse_terms
from services.query.rerank import Rerank, nearest
from services.query.resolve import Resolver
from services.vectorstore.filters import Filter


@dataclass(frozen=True)
class TermInfo:
    text: str
    kind: TermKind
    weight: float
    norm: float  # ‖tᵢ‖ of the resolved term vector (1 for text, point and upload terms)


@dataclass(frozen=True)
class QueryInfo:
    """What the server understood: the canonical expression, its weighted terms, ‖Σ wᵢtᵢ‖."""

    expression: str
    terms: list[TermInfo]
    norm: float
    vector: str
    centered: bool = False  # leaf terms were centred on the collection's modality means
    templates: tuple[str, ...] = ()  # the collection's prompt templates applied to text terms


@dataclass(frozen=True)
class ExplainedHit:
    """A hit (``score``: cosine similarity in [-1, 1]) and, when explained, each term's share of it."""

    id: str
    score: float
    payload: Payload
    contributions: dict[str, float] | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: list[ExplainedHit]
    query: QueryInfo
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what may explain few or no hits (services/query/filter_keys.py)
    vector: Vector | None = None  # the composed unit query vector (relative scores score the collection by it)


def term_label(t: WeightedTerm) -> str:
    """The term as written in canonical form, without its weight (``"winter"``, ``image(8421)``)."""
    return to_text([WeightedTerm(1.0, t.term)])


def parse_expression(expression: str, limits: Limits) -> list[WeightedTerm]:
    return parse_terms(expression, max_chars=limits.max_expression_chars, max_terms=limits.max_terms)


@dataclass(frozen=True)
class Composed:
    terms: list[WeightedTerm]
    term_vectors: Vector  # (k, d)
    vector: Vector  # unit query vector
    norm: float
    centered: bool = False
    templates: tuple[str, ...] = ()

    def info(self, using: str) -> QueryInfo:
        return QueryInfo(
            expression=to_text(self.terms),
            terms=[
                TermInfo(term_label(t), t.term.term_kind, t.weight, float(n))
                for t, n in zip(self.terms, np.linalg.norm(self.term_vectors, axis=1), strict=True)
            ],
            norm=self.norm,
            vector=using,
            centered=self.centered,
            templates=self.templates,
        )


def compose_expression(expression: str, resolver: Resolver, limits: Limits) -> Composed:
    t0 = time.perf_counter()
    terms = parse_expression(expression, limits)
    t1 = time.perf_counter()
    vectors = resolver.resolve(terms)
    t2 = time.perf_counter()
    comp = compose([t.weight for t in terms], vectors)
    QUERY_SECONDS.labels("parse").observe(t1 - t0)
    QUERY_SECONDS.labels("resolve").observe(t2 - t1)
    QUERY_SECONDS.labels("compose").observe(time.perf_counter() - t2)
    return Composed(terms, vectors, comp.vector, float(comp.norm), resolver.centring is not None, resolver.templates)


def search(
    resolver: Resolver,
    expression: str,
    limits: Limits,
    using: str = "image",
    limit: int = 20,
    offset: int = 0,
    filter: Filter | None = None,
    explain: bool = False,
    rerank: Rerank | None = None,
) -> SearchResult:
    """Nearest neighbours of the composed expression over the named vector ``using``.

    With ``explain``, each hit carries per-term contributions wᵢ·(x·tᵢ)/‖Σ wt‖ that sum to its score.
    ``rerank``: near-duplicates hidden or MMR diversity (``services/query/rerank.py``).
    """
    t0 = time.perf_counter()
    composed = compose_expression(expression, resolver, limits)
    t1 = time.perf_counter()
    hits = nearest(
        resolver.store,
        resolver.collection,
        composed.vector,
        rerank or Rerank(),
        using=using,
        limit=limit,
        offset=offset,
        filter=filter,
        with_vectors=explain,
        max_candidates=limits.max_rerank_candidates,
    )
    t2 = time.perf_counter()
    QUERY_SECONDS.labels("knn").observe(t2 - t1)
    QUERY_SECONDS.labels("total").observe(t2 - t0)
    out: list[ExplainedHit] = []
    if explain and hits:
        x = np.stack([h.vectors[using] for h in hits if h.vectors])
        contrib = contributions(x, [t.weight for t in composed.terms], composed.term_vectors, composed.norm)
        labels = [term_label(t) for t in composed.terms]
        for h, row in zip(hits, contrib, strict=True):
            out.append(ExplainedHit(h.id, h.score, h.payload, dict(zip(labels, (float(c) for c in row), strict=True))))
    else:
        out = [ExplainedHit(h.id, h.score, h.payload) for h in hits]
    timings = {"compose_ms": (t1 - t0) * 1e3, "knn_ms": (t2 - t1) * 1e3}
    return SearchResult(out, composed.info(using), timings, vector=composed.vector)
