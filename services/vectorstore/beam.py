"""The HNSW beam (``hnsw_ef``) a filtered search walks with, from the share of points its filter keeps.

A filter that keeps a share ``p`` of the points prunes a walk over the whole graph: of the candidates the
beam holds, only about ``p`` match, so keeping as many matching candidates as an unfiltered search keeps
takes a beam about ``ef / p`` wide. Qdrant needs no such widening for small shares: a filter that keeps
fewer points than ``full_scan_kb`` holds is answered by an exact scan of the payload index's points, and
an indexed keyword value with more points than that gets its own links in the graph (filterable HNSW), so
its walk stays among matching points.

Measured at 1M CLIP-like points × 512 (text queries, recall@10 against exact): ``bench/scale.py``'s
``engine_filtered`` probe in run 5 (bench/README.md "Scale"), and in brackets the same filters on a second
build of the same points (HNSW builds differ):

| filter keeps | ef 384 | 640 | 1024 | 1536 |
| --- | --- | --- | --- | --- |
| 1 % (must s1) | 1.000 (1.000) | 1.000 (1.000) | 1.000 (1.000) | 1.000 (1.000) |
| 9 %, 10 % (must s10, must_not s1; must s10) | 0.988-0.994 (1.000) | 0.994 (1.000) | 0.994 (1.000) | 0.994 (1.000) |
| 40 % (must s50, must_not s10) | 0.908 (0.896) | 0.934 (0.938) | 0.950 (0.962) | 0.964 (0.974) |
| 50 % (must s50) | 0.922 (0.944) | 0.946 (0.968) | 0.966 (0.982) | 0.982 (0.986) |
| 50 % (must_not s50) | 0.942 (0.900) | 0.960 (0.918) | 0.974 (0.950) | 0.980 (0.960) |
| 90 %, 99 % (must_not s10; s1) | 0.966 (0.968-0.972) | 0.974 (0.980) | 0.982-0.986 (same) | 0.992-0.994 (same) |

So: the unfiltered beam up to ``SMALL_SHARE``, ``ef / p`` above it, never wider than ``ef_max``. With the
defaults (640, 1024) a 10 % filter walks at 640 instead of 1024 (3.6 ms instead of 5.4 in the engine at
1M, the same recall), and the 40-60 % band at 1024, where recall is 0.950-0.982: the band's margin is thin.
"""

from __future__ import annotations

import math

# Filters keeping at most this share walk with the unfiltered beam: every filter measured at ≤ 10 % found
# ≥ 0.988 of the exact top 10 at ef 384 and 0.994-1.000 at 640; the 40-60 % band is where a beam must widen.
SMALL_SHARE = 0.15


def filtered_beam(share: float, ef: int, ef_max: int, small: float = SMALL_SHARE) -> int:
    """``hnsw_ef`` for a search whose filter keeps ``share`` (in [0, 1]) of the points.

    ``ef``: the unfiltered beam; ``ef_max``: the widest a filtered one gets (at least ``ef`` is used).
    """
    if not 0.0 <= share <= 1.0 or math.isnan(share):
        raise ValueError(f"a filter's share of the points is in [0, 1], got {share}")
    if share <= small:
        return ef
    return max(ef, min(ef_max, math.ceil(ef / share)))
