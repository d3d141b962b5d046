"""Collection classify: every point's top label (and its probability) written to its payload.

It reads and writes the vector store directly, so it runs where the store can be opened: the API's local
queue, or, in server mode, Celery workers, one chunk of point ids at a time. With an embedded store only
the API process may open it, so there the job runs in the API's local queue (``chunked`` is False).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import PointRecord
from services.ingest.runner import Reporter
from services.jobs.kinds import ClassifySource
from services.jobs.runners.base import ChunkSpec, JobContext, JobRunner, RunOutcome
from services.query.classify import payload_keys, top_labels, zero_shot
from services.query.scan import pages
from services.sources.items import FailedItem
from services.vectorstore.base import VectorStore


class ClassifyRunner(JobRunner):
    resumable = False  # a classify job is cheap to start again; it has nothing stored to skip
    embeds = False  # its label vectors were encoded by the API, which checked the collection's model

    def __init__(self, source: ClassifySource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    @property
    def chunked(self) -> bool:
        return self.ctx.shared_store

    def _store(self) -> VectorStore:
        if self.ctx.store is None:
            raise InvalidInput(
                "collection classify jobs need the vector store, which this worker reaches only through the API "
                "(SIGNIFIER_WORKERS__API_URL); run classify workers with SIGNIFIER_QDRANT_URL"
            )
        return self.ctx.store

    def count(self) -> int:
        return self._store().count(self.store_name)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        """Chunks of point ids, in the store's scroll order (ids only: planning reads no vectors)."""
        store, offset = self._store(), None
        while True:
            page, offset = store.scroll(self.store_name, limit=chunk_size, offset=offset, with_vectors=False)
            if page:
                yield {"ids": [p.id for p in page]}, len(page)
            if offset is None:
                return

    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        store = self._store()
        if spec is None:
            return self._label(store, ((p, []) for p in pages(store, self.store_name)), reporter)
        ids = [str(i) for i in spec["ids"]]
        found = store.retrieve(self.store_name, ids, with_vectors=True)
        have = {p.id for p in found}
        gone = [FailedItem(i, "the point was deleted before it was labelled") for i in ids if i not in have]
        return self._label(store, [(found, gone)], reporter)

    def _label(
        self, store: VectorStore, batches: Iterable[tuple[list[PointRecord], list[FailedItem]]], reporter: Reporter
    ) -> RunOutcome:
        src = self.source
        key, key_p = payload_keys(src.set)
        labels, rule, using = src.vectors(), src.rule(), src.vector
        done = failed = 0
        for batch, (page, lost) in enumerate(batches):
            if reporter.cancelled():
                return RunOutcome(done, failed, cancelled=True)
            kept = [p for p in page if using in p.vectors]
            missing = [FailedItem(p.id, f"the point has no {using} vector") for p in page if using not in p.vectors]
            errors = lost + missing
            if kept:
                # label_<set>_p: the top label's probability, or its cosine for a model without a logit scale.
                top, score = top_labels(*zero_shot(np.stack([p.vectors[using] for p in kept]), labels, rule))
                for p, t, value in zip(kept, top, score, strict=True):
                    store.set_payload(self.store_name, p.id, {key: src.labels[int(t)], key_p: float(value)})
            reporter.progress(len(kept), errors, batch=batch, timings={})
            done, failed = done + len(kept), failed + len(errors)
        return RunOutcome(done, failed)
