"""The writer stage: embedded batches → points with payload → idempotent upserts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from services.core.types import PointRecord
from workers.pipeline.embed import EmbeddedBatch
from workers.pipeline.ids import point_id


class PointWriter(Protocol):
    """Where points go: a ``VectorStore``, or the API's internal route when a worker is not the writer."""

    def upsert(self, name: str, points: Sequence[PointRecord]) -> None: ...

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]: ...


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


def write_points(store: PointWriter, collection: str, points: list[PointRecord], batch: int = 256) -> None:
    for start in range(0, len(points), batch):
        store.upsert(collection, points[start : start + batch])
