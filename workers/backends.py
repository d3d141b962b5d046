"""How a Celery worker reaches job records and the vector store, in each topology.

- ``DirectBackend`` (server mode: ``SIGNIFIER_QDRANT_URL`` and a shared database): the worker upserts into
  Qdrant and updates job records itself, through the same ``JobCoordinator`` the API uses; it writes
  thumbnails into the data dir, which it shares with the API (the ``/data`` volume in deploy/).
- ``ApiBackend`` (embedded store: the API process is the only one that may open it): the worker decodes
  and embeds, then hands each batch, thumbnails included, to the API's internal routes, authenticated
  with the shared ``SIGNIFIER_INTERNAL_TOKEN``. Calls are retried with backoff while the API restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import httpx

from services.client.http import Client, Retry
from services.core.errors import NotFoundError, StoreUnavailable
from services.core.types import PointRecord
from services.ingest.writer import PointWriter, StoreWriter, Thumbnails
from services.jobs.coordinator import ChunkWork, JobCoordinator
from services.jobs.wire import encode_point
from services.sources.items import FailedItem
from services.vectorstore.base import VectorStore
from services.vectorstore.thumbnails import ThumbnailStore

log = logging.getLogger(__name__)


class WorkerBackend(Protocol):
    writer: PointWriter
    store: VectorStore | None  # None: the worker reaches the store only through the API

    def start_chunk(self, job_id: str, idx: int, retry: bool = False) -> ChunkWork | None: ...

    def record_batch(
        self,
        job_id: str,
        idx: int,
        batch: int,
        done: int,
        failed: list[FailedItem],
        timings: dict[str, float],
        skipped: int = 0,
    ) -> bool: ...

    def finish_chunk(self, job_id: str, idx: int, entries: int, error: str | None = None) -> None: ...

    def close(self) -> None: ...


class DirectBackend:
    """Job records through a local coordinator, points straight into the store, thumbnails into the shared
    data dir."""

    def __init__(self, coordinator: JobCoordinator, store: VectorStore, thumbnails: ThumbnailStore) -> None:
        self.coordinator = coordinator
        self.writer: PointWriter = StoreWriter(store, thumbnails)
        self.store: VectorStore | None = store

    def start_chunk(self, job_id: str, idx: int, retry: bool = False) -> ChunkWork | None:
        return self.coordinator.start_chunk(job_id, idx, retry)

    def record_batch(
        self,
        job_id: str,
        idx: int,
        batch: int,
        done: int,
        failed: list[FailedItem],
        timings: dict[str, float],
        skipped: int = 0,
    ) -> bool:
        return self.coordinator.record_batch(job_id, idx, batch, done, failed, timings, skipped)

    def finish_chunk(self, job_id: str, idx: int, entries: int, error: str | None = None) -> None:
        self.coordinator.finish_chunk(job_id, idx, entries, error)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class ApiWriter:
    """A ``PointWriter`` that upserts through the API (the single writer of the embedded store)."""

    def __init__(self, api: Client) -> None:
        self.api = api

    def upsert(self, name: str, points: Sequence[PointRecord], thumbnails: Thumbnails | None = None) -> None:
        thumbs = thumbnails or {}
        body = {"points": [encode_point(p, thumbs.get(p.id)) for p in points]}
        self.api.request("POST", f"/internal/v1/collections/{name}/points", body)

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]:
        found = self.api.request("POST", f"/internal/v1/collections/{name}/points/lookup", {"ids": list(ids)})
        return [PointRecord(id=i) for i in found["ids"]]


class ApiBackend:
    """Job records and points through the API's internal routes, retried while the API is away."""

    def __init__(self, base_url: str, token: str, patience_s: float = 60.0) -> None:
        self.api = Client.connect(base_url, token, timeout_s=60.0, retry=Retry(patience_s))
        self.writer: PointWriter = ApiWriter(self.api)
        self.store: VectorStore | None = None

    def start_chunk(self, job_id: str, idx: int, retry: bool = False) -> ChunkWork | None:
        try:
            res = self.api.request("POST", f"/internal/v1/jobs/{job_id}/chunks/{idx}/start", {"retry": retry})
        except NotFoundError:
            return None
        w = res.get("work")
        if not w:
            return None
        return ChunkWork.model_validate(w)

    def record_batch(
        self,
        job_id: str,
        idx: int,
        batch: int,
        done: int,
        failed: list[FailedItem],
        timings: dict[str, float],
        skipped: int = 0,
    ) -> bool:
        body = {
            "batch": batch,
            "done": done,
            "skipped": skipped,
            "failed": [{"item": f.item, "reason": f.reason} for f in failed],
            "timings": timings,
        }
        res = self.api.request("POST", f"/internal/v1/jobs/{job_id}/chunks/{idx}/batches", body)
        return bool(res.get("cancelled"))

    def finish_chunk(self, job_id: str, idx: int, entries: int, error: str | None = None) -> None:
        body = {"entries": entries, "error": error}
        self.api.request("POST", f"/internal/v1/jobs/{job_id}/chunks/{idx}/finish", body)

    def close(self) -> None:
        self.api.close()


TRANSIENT: tuple[type[BaseException], ...] = (StoreUnavailable, httpx.TransportError, ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """Errors a later retry may cure: the store, the API, the database or the network being down."""
    if isinstance(exc, TRANSIENT):
        return True
    try:
        from sqlalchemy.exc import OperationalError

        return isinstance(exc, OperationalError)
    except ImportError:  # pragma: no cover
        return False
