"""What map and duplicates jobs share: they stream a collection's vectors, compute, store a result.

They run in the API's local queue only (``chunked`` is False): the result goes to the database the API
holds, and the computation joins the whole collection (a union-find, fitted layouts), so there is nothing
to split among workers. They are started again, not resumed (``resumable`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.core.errors import InvalidInput
from services.core.types import Payload, Vector
from services.jobs.results import JobResults
from services.jobs.runners.base import JobRunner
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
