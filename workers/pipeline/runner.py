"""The runner wires reader → decode (thread pool) → embed (batched) → writer and reports progress.

Decoding runs ahead of inference in a bounded window of futures, so memory stays bounded on
million-item sources while the model is kept busy. Every entry ends as stored or as a
``FailedItem`` handed to the reporter: nothing is dropped.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from services.core.metrics import INGEST_ITEMS, INGEST_STAGE_SECONDS
from services.core.settings import IngestSettings, Limits
from services.encoders.base import Encoder
from workers.pipeline.embed import embed_batch
from workers.pipeline.ids import point_id
from workers.pipeline.items import FailedItem, PreparedItem, SourceItem
from workers.pipeline.prepare import FetchUrl, _no_urls, prepare
from workers.pipeline.writer import PointWriter, build_points, write_points


class Reporter(Protocol):
    """Receives progress. ``cancelled`` is polled between batches.

    ``batch`` numbers the run's batches 0, 1, ...: batch k is always entries [k·B, (k+1)·B) of the
    stream (B = batch size, failures included), so a rerun of the same source reports the same
    batches under the same numbers — the job store counts each once.
    """

    def progress(self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float]) -> None: ...

    def cancelled(self) -> bool: ...


@dataclass
class IngestResult:
    done: int = 0
    failed: int = 0
    skipped: int = 0  # of ``done``: already stored, not embedded again
    batches: int = 0
    cancelled: bool = False
    timings: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "embed": 0.0, "upsert": 0.0})

    @property
    def entries(self) -> int:
        return self.done + self.failed

    def as_dict(self) -> dict[str, float]:
        return {f"{k}_seconds": round(v, 4) for k, v in self.timings.items()}


@dataclass
class _Batch:
    items: list[PreparedItem] = field(default_factory=list)
    failures: list[FailedItem] = field(default_factory=list)
    entries: int = 0
    decode_seconds: float = 0.0


class IngestPipeline:
    """Runs one source into one collection. Collaborators are handed in (tests pass fakes)."""

    def __init__(
        self,
        encoder: Encoder,
        store: PointWriter,
        ingest: IngestSettings,
        limits: Limits,
        fetch_url: FetchUrl = _no_urls,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.ingest = ingest
        self.limits = limits
        self.fetch_url = fetch_url

    def _prepare_timed(self, item: SourceItem) -> tuple[PreparedItem | FailedItem, float]:
        t0 = time.perf_counter()
        out = prepare(item, self.encoder.preprocess, self.limits, self.fetch_url)
        return out, time.perf_counter() - t0

    def run(self, collection: str, entries: Iterable[SourceItem | FailedItem], reporter: Reporter) -> IngestResult:
        """Ingest every entry; returns early (``cancelled``) if the reporter says the job was cancelled."""
        self.encoder.load()
        result = IngestResult()
        size = max(1, self.ingest.batch_size)
        window = max(2, size * 2)  # decoded-but-not-embedded items held at once: bounds memory
        pending: deque[Future[tuple[PreparedItem | FailedItem, float]] | FailedItem] = deque()
        batch = _Batch()

        def drain_one() -> bool:
            """Move the oldest entry into the batch (stream order); flush a full batch. False: cancelled."""
            nonlocal batch
            head = pending.popleft()
            if isinstance(head, FailedItem):
                batch.failures.append(head)
            else:
                out, seconds = head.result()
                batch.decode_seconds += seconds
                INGEST_STAGE_SECONDS.labels("decode").observe(seconds)
                if isinstance(out, PreparedItem):
                    batch.items.append(out)
                else:
                    batch.failures.append(out)
            batch.entries += 1
            if batch.entries < size:
                return True
            ok = self._flush(collection, batch, reporter, result)
            batch = _Batch()
            return ok

        with ThreadPoolExecutor(max_workers=self.ingest.decode_workers, thread_name_prefix="decode") as pool:
            for entry in entries:
                pending.append(entry if isinstance(entry, FailedItem) else pool.submit(self._prepare_timed, entry))
                while len(pending) >= window or (pending and _ready(pending[0])):
                    if not drain_one():
                        _cancel(pending)
                        return result
            while pending:
                if not drain_one():
                    _cancel(pending)
                    return result
            if batch.entries:
                self._flush(collection, batch, reporter, result)
        return result

    def _flush(self, collection: str, batch: _Batch, reporter: Reporter, result: IngestResult) -> bool:
        """Embed and store one batch, then report it; False when the job was cancelled (batch not stored)."""
        if reporter.cancelled():
            result.cancelled = True
            return False
        embed_s = upsert_s = 0.0
        if batch.items:
            t0 = time.perf_counter()
            todo = batch.items
            if self.ingest.skip_existing:
                ids = [point_id(collection, it.content_hash) for it in batch.items]
                stored = {p.id for p in self.store.retrieve(collection, ids)}
                todo = [it for it, pid in zip(batch.items, ids, strict=True) if pid not in stored]
                result.skipped += len(batch.items) - len(todo)
            t1 = time.perf_counter()
            if todo:
                embedded = embed_batch(self.encoder, todo)
                t2 = time.perf_counter()
                write_points(self.store, collection, build_points(collection, embedded), self.ingest.upsert_batch)
                t3 = time.perf_counter()
            else:
                t2 = t3 = t1
            embed_s, upsert_s = t2 - t1, (t3 - t2) + (t1 - t0)
            INGEST_STAGE_SECONDS.labels("embed").observe(embed_s)
            INGEST_STAGE_SECONDS.labels("upsert").observe(upsert_s)
        timings = {"decode": batch.decode_seconds, "embed": embed_s, "upsert": upsert_s}
        for k, v in timings.items():
            result.timings[k] += v
        result.done += len(batch.items)
        result.failed += len(batch.failures)
        INGEST_ITEMS.labels("stored").inc(len(batch.items))
        INGEST_ITEMS.labels("failed").inc(len(batch.failures))
        reporter.progress(len(batch.items), batch.failures, batch=result.batches, timings=timings)
        result.batches += 1
        return True


def _ready(head: Future[tuple[PreparedItem | FailedItem, float]] | FailedItem) -> bool:
    return isinstance(head, FailedItem) or head.done()


def _cancel(pending: deque[Future[tuple[PreparedItem | FailedItem, float]] | FailedItem]) -> None:
    for f in pending:
        if isinstance(f, Future):
            f.cancel()
