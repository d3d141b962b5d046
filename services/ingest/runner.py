"""The runner wires reader → decode (thread pool) → embed (batched) → writer and reports progress.

Decoding runs ahead of inference in a bounded window of futures, so memory stays bounded on
million-item sources while the model is kept busy. Every entry ends as stored or as a
``FailedItem`` handed to the reporter: nothing is dropped.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from services.core.metrics import INGEST_ITEMS, INGEST_STAGE_SECONDS
from services.core.settings import IngestSettings, Limits
from services.core.types import Vector
from services.encoders.base import Encoder
from services.ingest.embed import EmbeddedBatch, embed_images, embed_texts
from services.ingest.ids import point_id
from services.ingest.prepare import FetchUrl, _no_urls, prepare
from services.ingest.video import VideoIngest
from services.ingest.writer import PointWriter, build_points, write_points
from services.sources.items import FailedItem, PreparedItem, SourceItem
from services.sources.video import is_video
from services.vectorstore.videos import VideoRegistry

_T = TypeVar("_T")


class Reporter(Protocol):
    """Receives progress. ``cancelled`` is polled between batches.

    ``batch`` numbers the run's batches 0, 1, ...: batch k is always entries [k·B, (k+1)·B) of the
    stream (B = batch size, failures included), so a rerun of the same source reports the same
    batches under the same numbers — the job store counts each once. ``skipped``: of the ``done`` items,
    how many the collection held already (same content, same point id), so they were not embedded or
    stored again.
    """

    def progress(
        self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float], skipped: int = 0
    ) -> None: ...

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
        videos: VideoRegistry | None = None,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.ingest = ingest
        self.limits = limits
        self.fetch_url = fetch_url
        self.videos = VideoIngest(encoder, store, ingest, limits, videos)

    def _prepare_timed(self, item: SourceItem) -> tuple[PreparedItem | FailedItem, float]:
        t0 = time.perf_counter()
        out = prepare(
            item,
            self.encoder.preprocess,
            self.limits,
            self.fetch_url,
            self.encoder.decode_side,
            self.ingest.thumbnail_side,
        )
        return out, time.perf_counter() - t0

    def run(self, collection: str, entries: Iterable[SourceItem | FailedItem], reporter: Reporter) -> IngestResult:
        """Ingest every entry; returns early (``cancelled``) if the reporter says the job was cancelled.

        Three overlapping stages: decode threads run ahead of the current batch; one batch is in the
        model (an embed thread) while this thread stores and reports the one before it, in stream
        order (one writer, batch numbers in order), encoding that batch's alt-texts first while the
        model thread works on images.
        """
        self.encoder.load()
        result = IngestResult()
        size = max(1, self.ingest.batch_size)
        window = max(2, size * 2)  # decoded-but-not-embedded items held at once: bounds memory
        pending: deque[Future[tuple[PreparedItem | FailedItem, float]] | FailedItem] = deque()
        embedding: deque[_InFlight] = deque()
        batch = _Batch()

        def submit_batch() -> bool:
            """Send the current batch to the model, then store the one before it. False: cancelled."""
            nonlocal batch
            if reporter.cancelled():
                result.cancelled = True
                return False
            embedding.append(self._submit(collection, batch, embedder, result))
            batch = _Batch()
            while len(embedding) > 1:
                self._finish(collection, embedding.popleft(), reporter, result)
            return True

        def drain_one() -> bool:
            """Move the oldest entry into the batch (stream order); submit a full batch. False: cancelled."""
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
            return batch.entries < size or submit_batch()

        with (
            ThreadPoolExecutor(max_workers=self.ingest.decode_workers, thread_name_prefix="decode") as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as embedder,
        ):
            try:
                for entry in entries:
                    if isinstance(entry, SourceItem) and entry.kind == "file" and is_video(entry.source):
                        # Everything before the video is stored and reported first (one writer, stream order).
                        while pending:
                            if not drain_one():
                                return result
                        if batch.entries and not submit_batch():
                            return result
                        while embedding:
                            self._finish(collection, embedding.popleft(), reporter, result)
                        if not self._video(collection, entry, reporter, result):
                            return result
                        continue
                    pending.append(entry if isinstance(entry, FailedItem) else pool.submit(self._prepare_timed, entry))
                    while len(pending) >= window or (pending and _ready(pending[0])):
                        if not drain_one():
                            return result
                while pending:
                    if not drain_one():
                        return result
                if not batch.entries or submit_batch():
                    while embedding:
                        self._finish(collection, embedding.popleft(), reporter, result)
            finally:
                # Cancelled or failed: batches still in the model are dropped unstored and unreported
                # (a batch is stored and counted, or neither); a resume embeds them again.
                _cancel(pending)
                for flight in embedding:
                    if flight.images is not None:
                        flight.images.cancel()
        return result

    def _video(self, collection: str, item: SourceItem, reporter: Reporter, result: IngestResult) -> bool:
        """One video's frames, each of its batches stored and reported in turn. False: cancelled."""

        def report(done: int, failures: list[FailedItem], timings: dict[str, float]) -> bool:
            for k, v in timings.items():
                result.timings[k] = result.timings.get(k, 0.0) + v
            result.done += done
            result.failed += len(failures)
            INGEST_ITEMS.labels("stored").inc(done)
            INGEST_ITEMS.labels("failed").inc(len(failures))
            reporter.progress(done, failures, batch=result.batches, timings=timings)
            result.batches += 1
            result.cancelled = reporter.cancelled()
            return not result.cancelled

        self.encoder.load()
        self.videos.run(collection, item, report)
        return not result.cancelled

    def _submit(self, collection: str, batch: _Batch, embedder: ThreadPoolExecutor, result: IngestResult) -> _InFlight:
        """Skip what is already stored (when asked), then start embedding the rest on the embed pool."""
        t0 = time.perf_counter()
        todo = batch.items
        if todo and self.ingest.skip_existing:
            ids = [point_id(collection, it.content_hash) for it in todo]
            stored = {p.id for p in self.store.retrieve(collection, ids)}
            todo = [it for it, pid in zip(todo, ids, strict=True) if pid not in stored]
        lookup_s = time.perf_counter() - t0
        images = embedder.submit(_timed, embed_images, self.encoder, todo) if todo else None
        return _InFlight(batch, todo, images, lookup_s)

    def _finish(self, collection: str, flight: _InFlight, reporter: Reporter, result: IngestResult) -> None:
        """Embed the batch's alt-texts here while its images are in the model, then store and report it."""
        batch = flight.batch
        embed_s = 0.0
        upsert_s = flight.lookup_seconds
        if flight.images is not None:
            (text_vectors, truncated), text_s = _timed(embed_texts, self.encoder, flight.todo)
            image_vectors, image_s = flight.images.result()
            embedded = EmbeddedBatch(flight.todo, image_vectors, text_vectors, truncated)
            embed_s = image_s + text_s
            t0 = time.perf_counter()
            points = build_points(collection, embedded)
            thumbnails = {
                p.id: it.thumbnail for p, it in zip(points, flight.todo, strict=True) if it.thumbnail is not None
            }
            write_points(self.store, collection, points, thumbnails, self.ingest.upsert_batch)
            upsert_s += time.perf_counter() - t0
        if batch.items:
            INGEST_STAGE_SECONDS.labels("embed").observe(embed_s)
            INGEST_STAGE_SECONDS.labels("upsert").observe(upsert_s)
        timings = {"decode": batch.decode_seconds, "embed": embed_s, "upsert": upsert_s}
        for k, v in timings.items():
            result.timings[k] += v
        skipped = len(batch.items) - len(flight.todo)
        result.done += len(batch.items)
        result.failed += len(batch.failures)
        result.skipped += skipped
        # Only points written now count as stored: a re-ingest of the same files must not grow the counter.
        INGEST_ITEMS.labels("stored").inc(len(flight.todo))
        INGEST_ITEMS.labels("already_stored").inc(skipped)
        INGEST_ITEMS.labels("failed").inc(len(batch.failures))
        reporter.progress(len(batch.items), batch.failures, batch=result.batches, timings=timings, skipped=skipped)
        result.batches += 1


@dataclass
class _InFlight:
    batch: _Batch
    todo: list[PreparedItem]  # the batch's items not stored yet
    images: Future[tuple[Vector, float]] | None  # their image vectors; None: nothing to embed
    lookup_seconds: float


def _timed(fn: Callable[..., _T], *args: Any) -> tuple[_T, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _ready(head: Future[tuple[PreparedItem | FailedItem, float]] | FailedItem) -> bool:
    return isinstance(head, FailedItem) or head.done()


def _cancel(pending: deque[Future[tuple[PreparedItem | FailedItem, float]] | FailedItem]) -> None:
    for f in pending:
        if isinstance(f, Future):
            f.cancel()
