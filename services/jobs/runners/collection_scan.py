"""What map and duplicates jobs share: they read every vector of a collection, compute, store a result.

They run in the API's local queue only (``chunked`` is False): the result goes to the database the API
holds, and the computation needs all vectors at once, so there is nothing to split among workers.
They are started again, not resumed (``resumable`` is False).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import Payload, Vector
from services.ingest.runner import Reporter
from services.jobs.results import JobResults
from services.jobs.runners.base import JobRunner
from services.query.scan import pages
from services.vectorstore.base import VectorStore


@dataclass(frozen=True)
class Scanned:
    """The points that have the vector: ids, (n, d) unit rows, payloads; ``left_out``: points without it."""

    ids: list[str]
    x: Vector
    payloads: list[Payload]
    left_out: int


class CollectionScanRunner(JobRunner):
    resumable = False
    # They read stored vectors and encode nothing; a map's vocabulary was encoded by the API, which
    # checked the collection's model then (409 otherwise). So a server with another model may lay out
    # or deduplicate the collection, but never name its clusters with its own text vectors.
    embeds = False

    @property
    def chunked(self) -> bool:
        return False

    def store(self) -> VectorStore:
        if self.ctx.store is None:
            raise InvalidInput("this job needs the vector store; it runs in the API process")
        return self.ctx.store

    def results(self) -> JobResults:
        if self.ctx.results is None:
            raise InvalidInput("this job stores its result in the API's database; it runs in the API process")
        return self.ctx.results

    def read(
        self, using: str, reporter: Reporter | None, on_page: Callable[[int, int], None] | None = None
    ) -> Scanned | None:
        """Every point's ``using`` vector; None if the job was cancelled meanwhile.

        ``on_page(batch, points)`` is called after each page (progress, where the kind counts reading)."""
        ids: list[str] = []
        rows: list[Vector] = []
        payloads: list[Payload] = []
        left_out = 0
        for batch, page in enumerate(pages(self.store(), self.store_name)):
            if reporter is not None and reporter.cancelled():
                return None
            for p in page:
                if using in p.vectors:
                    ids.append(p.id)
                    rows.append(p.vectors[using])
                    payloads.append(p.payload)
                else:
                    left_out += 1
            if on_page is not None:
                on_page(batch, len(page))
        if not ids:
            raise InvalidInput(f"the collection has no points with a {using} vector")
        x = np.stack(rows).astype(np.float32)
        return Scanned(ids, x, payloads, left_out)
