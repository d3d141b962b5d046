"""Search grouped by video: one entry per film, with its best moments (frames) and their timestamps.

Qdrant Edge (the embedded store) has no group-by query (its ``qdrant_edge.pyi`` offers search, query,
scroll, count and facet), so grouping happens here, over ranked hits of the ordinary kNN: pages of
``page`` hits are fetched best first and folded into groups until ``groups`` videos have ``per_group``
moments each, the hits run out, or ``max_candidates`` hits were looked at. Cost: one kNN of
``page`` hits per page (each page re-scans from the top: offset paging), and a video is missing from
the result only if none of its frames ranks in the first ``max_candidates`` hits. docs/video.md has the
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.core.settings import Limits
from services.query.resolve import Resolver
from services.query.search import ExplainedHit, SearchResult, search
from services.vectorstore.filters import Filter

GROUP_KEY = "video_id"
OVERSAMPLE = 4  # hits fetched per wanted moment, per page


@dataclass(frozen=True)
class VideoGroup:
    """One video's best moments, best first; ``score`` is its best moment's. ``video_id`` is None for a
    hit that is no video frame (an image in the same collection): it is a group of its own."""

    video_id: str | None
    score: float
    source: str | None
    duration: float | None
    moments: list[ExplainedHit] = field(default_factory=list)


def group_hits(hits: list[ExplainedHit], groups: int, per_group: int) -> list[VideoGroup]:
    """Fold ranked hits (best first) into at most ``groups`` groups of at most ``per_group`` moments."""
    order: list[str] = []
    by_key: dict[str, list[ExplainedHit]] = {}
    for h in hits:
        vid = h.payload.get(GROUP_KEY)
        key = str(vid) if isinstance(vid, str) else f"point:{h.id}"
        if key not in by_key:
            if len(order) >= groups:
                continue
            order.append(key)
            by_key[key] = []
        if len(by_key[key]) < per_group:
            by_key[key].append(h)
    out = []
    for key in order:
        moments = by_key[key]
        first = moments[0].payload
        duration = first.get("duration")
        out.append(
            VideoGroup(
                video_id=None if key.startswith("point:") else key,
                score=moments[0].score,
                source=first.get("source") if isinstance(first.get("source"), str) else None,
                duration=float(duration) if isinstance(duration, int | float) else None,
                moments=moments,
            )
        )
    return out


def _full(groups: list[VideoGroup], wanted: int, per_group: int) -> bool:
    return len(groups) >= wanted and all(len(g.moments) >= per_group for g in groups)


def search_grouped(
    resolver: Resolver,
    expression: str,
    limits: Limits,
    using: str = "image",
    groups: int = 10,
    per_group: int = 3,
    filter: Filter | None = None,
    explain: bool = False,
    max_candidates: int | None = None,
) -> tuple[SearchResult, list[VideoGroup]]:
    """The expression's best ``groups`` videos with up to ``per_group`` moments each, and the search
    result of the hits looked at (its ``hits``: each group's best moment, in group order)."""
    page = min(limits.max_limit, max(1, groups * per_group * OVERSAMPLE))
    cap = max_candidates if max_candidates is not None else min(limits.max_offset + page, 10 * limits.max_limit)
    hits: list[ExplainedHit] = []
    result: SearchResult | None = None
    timings: dict[str, float] = {}
    while True:
        result = search(resolver, expression, limits, using, page, len(hits), filter, explain)
        for k, v in result.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        hits += result.hits
        found = group_hits(hits, groups, per_group)
        if len(result.hits) < page or _full(found, groups, per_group) or len(hits) + page > cap:
            break
    timings["candidates"] = float(len(hits))
    best = [g.moments[0] for g in found]
    return SearchResult(best, result.query, timings), found
