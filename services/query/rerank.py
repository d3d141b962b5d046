"""How a search's hits are drawn from the store: plain kNN, kNN with near-duplicates hidden, or MMR.

``dedup``: hits whose cosine to a higher-ranked hit is ≥ the threshold are hidden (every higher-ranked
hit counts, hidden or not). The store is asked for oversampled nearest neighbours with their vectors,
doubling until ``offset + limit`` hits survive, the collection (or filter) has no more, or the
oversampling cap (``Limits.max_rerank_candidates``) is reached; past the cap fewer hits come back.

``diversity``: maximal marginal relevance, computed by Qdrant (Edge and server) over the ``candidates``
nearest neighbours, with relevance weight ``1 − diversity``; ``offset`` pages through its pick order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import Hit, Vector
from services.query.dedup import DEFAULT_THRESHOLD, repeats_higher_ranked
from services.vectorstore.base import VectorStore
from services.vectorstore.filters import Filter


@dataclass(frozen=True)
class Rerank:
    """What a search asks beyond kNN. ``dedup_threshold``: cosine in [-1, 1]; ``diversity`` in [0, 1]
    (0: plain relevance order); ``candidates``: the MMR pool (default 4 × (offset + limit))."""

    dedup: bool = False
    dedup_threshold: float = DEFAULT_THRESHOLD
    diversity: float | None = None
    candidates: int | None = None

    @property
    def active(self) -> bool:
        return self.dedup or self.diversity is not None


def check_rerank(r: Rerank, limit: int, offset: int, max_candidates: int) -> None:
    """Refuse what cannot be served, with the reason (``InvalidInput``: a 422)."""
    if r.dedup and r.diversity is not None:
        raise InvalidInput("choose dedup or diversity, not both (MMR already spreads near-duplicates apart)")
    if not -1.0 <= r.dedup_threshold <= 1.0:
        raise InvalidInput(f"dedup_threshold is a cosine similarity in [-1, 1], got {r.dedup_threshold}")
    if r.diversity is not None and not 0.0 <= r.diversity <= 1.0:
        raise InvalidInput(f"diversity must be in [0, 1] (0: relevance only, 1: diversity only), got {r.diversity}")
    if r.candidates is not None and r.diversity is None:
        raise InvalidInput("candidates applies to diversity (MMR) only")
    need = offset + limit
    if r.active and need > max_candidates:
        raise InvalidInput(
            f"offset + limit is {need}; with dedup or diversity at most {max_candidates} "
            "(SIGNIFIER_LIMITS__MAX_RERANK_CANDIDATES)"
        )
    if r.candidates is not None and not need <= r.candidates <= max_candidates:
        raise InvalidInput(f"candidates must be between offset + limit ({need}) and {max_candidates}")


def nearest(
    store: VectorStore,
    collection: str,
    vector: Vector,
    rerank: Rerank,
    *,
    using: str,
    limit: int,
    offset: int,
    filter: Filter | None,
    with_vectors: bool,
    max_candidates: int,
) -> list[Hit]:
    """The hits of one search page as ``rerank`` asks (validated by ``check_rerank``)."""
    need = offset + limit
    if rerank.diversity is not None:
        pool = rerank.candidates or min(max_candidates, 4 * need)
        hits = store.search_mmr(
            collection,
            vector,
            using=using,
            limit=need,
            candidates=pool,
            relevance=1.0 - rerank.diversity,
            filter=filter,
            with_vectors=with_vectors,
        )
        return hits[offset:]
    if rerank.dedup:
        return _deduplicated(store, collection, vector, rerank.dedup_threshold, using, need, filter, max_candidates)[
            offset:
        ]
    return store.search(
        collection, vector, using=using, limit=limit, offset=offset, filter=filter, with_vectors=with_vectors
    )


def _deduplicated(
    store: VectorStore,
    collection: str,
    vector: Vector,
    threshold: float,
    using: str,
    need: int,
    filter: Filter | None,
    cap: int,
) -> list[Hit]:
    fetch = min(cap, max(2 * need, need + 32))
    while True:
        raw = store.search(collection, vector, using=using, limit=fetch, filter=filter, with_vectors=True)
        with_vec = [h for h in raw if h.vectors and using in h.vectors]
        if not with_vec:
            return []
        hidden = repeats_higher_ranked(np.stack([h.vectors[using] for h in with_vec if h.vectors]), threshold)
        kept = [h for h, hide in zip(with_vec, hidden, strict=True) if not hide]
        if len(kept) >= need or len(raw) < fetch or fetch >= cap:
            return kept[:need]
        fetch = min(cap, 2 * fetch)
