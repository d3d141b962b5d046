"""What every job runner is: ``plan`` (split into chunks), ``run(reporter)`` (the whole source or one chunk),
``resumable`` and ``chunked``; and what runners are given (``JobContext``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from services.core.settings import Limits
from services.encoders.fingerprint import RunningModel
from services.ingest.runner import IngestPipeline, Reporter
from services.jobs.results import JobResults
from services.vectorstore.base import VectorStore

ChunkSpec = dict[str, Any]
"""What one chunk covers, runner-specific (rows, files, a tar shard, point ids); stored in ``job_chunks.spec``."""


@dataclass(frozen=True)
class JobContext:
    """The collaborators of the process that runs or plans jobs; runners take the ones their kind needs.

    ``pipeline``: the ingestion pipeline (None where nothing is ingested, e.g. a planner).
    ``store``: the vector store (None where this process cannot open it: a worker of an embedded-store API).
    ``results``: job results (None where this process has no database: map and duplicates jobs run only
    in the API's local queue).
    ``shared_store``: Celery workers can open the store themselves (server mode), so jobs that read and
    write the store directly (collection classify) can run on them.
    ``model``: this process's model; a run of a job that ``embeds`` fails if it is not the collection's.
    ``limits``: batch and sample sizes of the whole-collection jobs (map, duplicates).
    """

    pipeline: IngestPipeline | None = None
    store: VectorStore | None = None
    shared_store: bool = False
    results: JobResults | None = None  # where map and duplicates jobs store what they computed
    model: RunningModel | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class RunOutcome:
    """What one run (a whole job, or one chunk) did: entries stored and failed, of those stored how many
    were there already, and whether it stopped because the job was cancelled."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: bool = False

    @property
    def entries(self) -> int:
        return self.done + self.failed


class JobRunner(ABC):
    """Runs one job's source into one store collection (``store_name``)."""

    resumable: ClassVar[bool] = True
    """A reopened job continues (stored items are skipped, counted batches not counted again)."""

    embeds: ClassVar[bool] = True
    """The run encodes with this process's model and stores the vectors: the model must be the collection's."""

    def __init__(self, store_name: str, ctx: JobContext) -> None:
        self.store_name = store_name
        self.ctx = ctx

    @property
    def chunked(self) -> bool:
        """With Celery: planned into chunks that workers run; False: the API process's local queue runs it."""
        return True

    @abstractmethod
    def count(self) -> int:
        """Entries the source holds (the job's total)."""

    @abstractmethod
    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        """(spec, entries) of each chunk, in order; chunk ``k`` always covers the same entries."""

    @abstractmethod
    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        """Run the whole source (``spec=None``) or one planned chunk, reporting each batch."""
