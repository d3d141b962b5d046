"""The writer stage: embedded batches → points with payload (and thumbnails) → idempotent upserts."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from services.core.types import PointRecord
from services.ingest.embed import EmbeddedBatch
from services.ingest.ids import point_id
from services.vectorstore.thumbnails import ThumbnailStore

Thumbnails = Mapping[str, bytes]
"""Point id → JPEG thumbnail bytes, for the points of one upsert that have one."""


class PointStore(Protocol):
    """What the writer needs of a ``VectorStore``."""

    def upsert(self, name: str, points: Sequence[PointRecord]) -> None: ...

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]: ...


class PointWriter(Protocol):
    """Where points and their thumbnails go: a ``StoreWriter`` (this process writes the store and the
    thumbnail folder), or the API's internal route when a worker is not the writer (``ApiWriter``)."""

    def upsert(self, name: str, points: Sequence[PointRecord], thumbnails: Thumbnails | None = None) -> None: ...

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]: ...


class StoreWriter:
    """Thumbnails into the ``ThumbnailStore`` first, then points into the store: a point that is stored
    has its thumbnail (a crash between the two leaves only a thumbnail, replaced by the retry)."""

    def __init__(self, store: PointStore, thumbnails: ThumbnailStore | None) -> None:
        self.store = store
        self.thumbnails = thumbnails  # None: thumbnails are dropped (tests, benchmarks)

    def upsert(self, name: str, points: Sequence[PointRecord], thumbnails: Thumbnails | None = None) -> None:
        if thumbnails and self.thumbnails is not None:
            self.thumbnails.write_many(name, thumbnails)
        self.store.upsert(name, points)

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]:
        return self.store.retrieve(name, ids, with_vectors)


# Payload keys the pipeline owns; user metadata with these names is overridden.
RESERVED_KEYS = frozenset(
    {"source", "alt_text", "width", "height", "content_hash", "ingested_at", "alt_text_truncated", "has_text"}
)


def build_points(collection: str, batch: EmbeddedBatch, now: Callable[[], float] = time.time) -> list[PointRecord]:
    points = []
    ts = now()
    for i, it in enumerate(batch.items):
        vectors = {"image": batch.image_vectors[i]}
        if i in batch.text_vectors:
            vectors["text"] = batch.text_vectors[i]
        payload = {k: v for k, v in it.item.metadata.items() if k not in RESERVED_KEYS}
        payload.update(
            source=it.item.source,
            alt_text=it.item.alt_text or "",
            has_text=i in batch.text_vectors,
            width=it.width,
            height=it.height,
            content_hash=it.content_hash,
            ingested_at=ts,
        )
        if i in batch.truncated:
            payload["alt_text_truncated"] = True
        points.append(PointRecord(id=point_id(collection, it.content_hash), vectors=vectors, payload=payload))
    return points


def write_points(
    store: PointWriter, collection: str, points: list[PointRecord], thumbnails: Thumbnails, batch: int = 256
) -> None:
    """Upsert ``points`` ``batch`` at a time, each slice with its points' thumbnails."""
    for start in range(0, len(points), batch):
        part = points[start : start + batch]
        store.upsert(collection, part, {p.id: thumbnails[p.id] for p in part if p.id in thumbnails})
