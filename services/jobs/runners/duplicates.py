"""Duplicates job: every group of points linked by cosine ≥ threshold (exact, all pairs), stored."""

from __future__ import annotations

from collections.abc import Iterator

from services.ingest.runner import Reporter
from services.jobs.kinds import DuplicatesSource
from services.jobs.runners.base import ChunkSpec, JobContext, RunOutcome
from services.jobs.runners.collection_scan import CollectionScanRunner
from services.query.dedup import duplicate_groups

MAX_GROUPS = 10_000  # groups stored (largest first); the result says how many there were


class DuplicatesRunner(CollectionScanRunner):
    def __init__(self, source: DuplicatesSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    def count(self) -> int:
        return self.store().count(self.store_name)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        yield {}, self.count()

    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        src = self.source
        points = self.count()
        scanned = self.read(src.vector, reporter)
        if scanned is None:
            return RunOutcome(cancelled=True)
        batch = 0

        def progress(rows: int) -> None:
            nonlocal batch
            reporter.progress(rows, [], batch=batch, timings={})
            batch += 1

        groups = duplicate_groups(scanned.x, src.threshold, progress)
        if reporter.cancelled():
            return RunOutcome(len(scanned.ids), cancelled=True)
        data = {
            "threshold": src.threshold,
            "vector": src.vector,
            "compared": len(scanned.ids),
            "left_out": scanned.left_out,
            "total_groups": len(groups),
            "duplicates": sum(len(g.members) - 1 for g in groups),
            "groups": [
                {
                    "ids": [scanned.ids[i] for i in g.members],
                    "exact": g.exact,
                    "min_similarity": round(g.min_similarity, 6),
                    "max_similarity": round(g.max_similarity, 6),
                }
                for g in groups[:MAX_GROUPS]
            ],
        }
        self.results().save(src.job_id, src.collection_id, "duplicates", points, data)
        return RunOutcome(len(scanned.ids))
