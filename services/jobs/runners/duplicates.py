"""Duplicates job: every group of points linked by cosine ≥ threshold, found by nearest-neighbour searches.

The collection is streamed a batch at a time (``Limits.job_batch_points``). Exact duplicates (the same
float32 vector, by a digest of its bytes) are linked to the first point met with that vector and not
searched again; every other point asks the store, in one batched request per batch, for its neighbours
at or above the threshold (the nearest ``Limits.max_duplicate_neighbours``: asked for a few first, more
while a point's list comes back full). The links go into a union-find over point ids, so memory is an
index per point and one batch of vectors, and time is one neighbour search per distinct vector. Where
the store's search is exact (segments not yet indexed, and those under its full-scan threshold) the groups
are those of all pairs (``services.query.dedup.duplicate_groups``); over an HNSW graph, as exact as the
graph's recall of near neighbours.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import Vector
from services.ingest.runner import Reporter
from services.jobs.kinds import DuplicatesSource
from services.jobs.runners.base import ChunkSpec, JobContext, RunOutcome
from services.jobs.runners.collection_scan import CollectionScanRunner
from services.query.dedup import LinkGroups, vector_key
from services.query.scan import pages, vectors_of

MAX_GROUPS = 10_000  # groups stored (largest first); the result says how many there were
FIRST_NEIGHBOURS = 32  # neighbours asked per point at first; a full answer is asked again for 4× as many


class DuplicatesRunner(CollectionScanRunner):
    def __init__(self, source: DuplicatesSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    def count(self) -> int:
        return self.store().count(self.store_name)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        yield {}, self.count()

    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        src, limits, store = self.source, self.ctx.limits, self.store()
        points = self.count()
        links = LinkGroups()
        first_with: dict[bytes, str] = {}  # vector digest → the first point met with that vector
        compared = left_out = searched = 0
        for batch, page in enumerate(pages(store, self.store_name, page_size=limits.job_batch_points)):
            if reporter.cancelled():
                return RunOutcome(compared, cancelled=True)
            kept, x = vectors_of(page, src.vector)
            left_out += len(page) - len(kept)
            asked: list[int] = []
            for r, (p, v) in enumerate(zip(kept, x, strict=True)):
                links.seen(p.id)
                first = first_with.setdefault(vector_key(v), p.id)
                if first != p.id:  # an exact duplicate: its neighbours are the first one's
                    links.link(first, p.id, float(v @ v))
                else:
                    asked.append(r)
            for r, found in zip(asked, self._neighbours(x[asked]), strict=True):
                for other, score in found:
                    if other != kept[r].id:
                        links.link(kept[r].id, other, score)
            compared += len(kept)
            searched += len(asked)
            reporter.progress(len(page), [], batch=batch, timings={})
        if compared == 0:
            raise InvalidInput(f"the collection has no points with a {src.vector} vector")
        groups = links.groups()
        data = {
            "threshold": src.threshold,
            "vector": src.vector,
            "compared": compared,
            "left_out": left_out,
            "searched": searched,
            "max_neighbours": limits.max_duplicate_neighbours,
            "total_groups": len(groups),
            "duplicates": sum(len(g.ids) - 1 for g in groups),
            "groups": [
                {
                    "ids": g.ids,
                    "exact": g.exact,
                    "min_similarity": round(g.min_similarity, 6),
                    "max_similarity": round(g.max_similarity, 6),
                }
                for g in groups[:MAX_GROUPS]
            ],
        }
        self.results().save(src.job_id, src.collection_id, "duplicates", points, data)
        return RunOutcome(compared)

    def _neighbours(self, rows: Vector) -> list[list[tuple[str, float]]]:
        """Each row's neighbours at or above the threshold, all of them up to ``max_duplicate_neighbours``."""
        if len(rows) == 0:
            return []
        src, cap = self.source, self.ctx.limits.max_duplicate_neighbours
        limit = min(FIRST_NEIGHBOURS, cap)
        out = self.store().neighbours(self.store_name, rows, src.vector, src.threshold, limit)
        full = [i for i, found in enumerate(out) if len(found) >= limit]
        while full and limit < cap:
            limit = min(cap, limit * 4)
            again = self.store().neighbours(self.store_name, rows[np.asarray(full)], src.vector, src.threshold, limit)
            for i, found in zip(full, again, strict=True):
                out[i] = found
            full = [i for i, found in zip(full, again, strict=True) if len(found) >= limit]
        return out
