"""Internal routes for Celery workers when this API process is the single writer of the embedded store.

Workers decode and embed; they hand each batch here, and report chunk progress through here, so they
need neither the store nor the job database. Every call is authenticated with the shared secret
``SIGNIFIER_INTERNAL_TOKEN`` (compared in constant time) instead of a user's API key: a worker acts for
the job, whose team was checked when the job was accepted. Without the setting the routes answer 404.
Upserts are idempotent (ids come from content), so a worker may safely repeat any call.

What a worker hands in is checked before it is written: the store name against the collection-name
pattern and the store, each point id as a UUID, each thumbnail as a small whole JPEG. A thumbnail's file
is named from the store name and the point id only, never from anything in the payload.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import RuntimeDep
from services.core.errors import InvalidInput, NotFoundError, Unauthorized
from services.ingest.writer import StoreWriter
from services.jobs.coordinator import JobCoordinator
from services.jobs.wire import decode_point, decode_thumbnail
from services.runtime import Runtime
from services.sources.items import FailedItem
from services.vectorstore.base import check_collection_name

router = APIRouter(prefix="/internal/v1", tags=["internal"], include_in_schema=False)


def _authorise(request: Request, runtime: RuntimeDep) -> Runtime:
    expected = runtime.settings.internal_token
    if expected is None:
        raise NotFoundError("internal routes are disabled (set SIGNIFIER_INTERNAL_TOKEN to enable workers)")
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    given = given.strip()
    # Settings refuse an empty or short token at startup; a bare "Bearer" is refused here as well, so an
    # empty token can never match. The comparison takes the same time wherever the first difference is.
    if (
        scheme.lower() != "bearer"
        or not given
        or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
    ):
        raise Unauthorized("internal routes need 'Authorization: Bearer <SIGNIFIER_INTERNAL_TOKEN>'")
    return runtime


InternalDep = Annotated[Runtime, Depends(_authorise)]


def _coordinator(runtime: Runtime) -> JobCoordinator:
    coordinator: JobCoordinator | None = getattr(runtime.queue, "coordinator", None)
    if coordinator is None:
        raise NotFoundError("this server runs jobs in-process (no SIGNIFIER_REDIS_URL): it takes no workers")
    return coordinator


class PointsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: list[dict[str, Any]] = Field(max_length=10_000)


class IdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(max_length=10_000)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch: int = Field(ge=0)
    done: int = Field(ge=0)
    skipped: int = Field(0, ge=0)  # of ``done``: already in the collection
    failed: list[FailedItem] = Field(default_factory=list, max_length=10_000)
    timings: dict[str, float] = Field(default_factory=dict)


class FinishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: int = Field(ge=0)
    error: str | None = None


@router.post("/collections/{store_name}/points", status_code=status.HTTP_204_NO_CONTENT)
def upsert_points(store_name: str, body: PointsIn, runtime: InternalDep) -> None:
    """Idempotent upsert of a worker's batch (vectors as base64 float32, thumbnails as base64 JPEG, see
    ``services/jobs/wire.py``); nothing is written unless every point of the batch is valid."""
    check_collection_name(store_name)
    if not runtime.store.collection_exists(store_name):
        raise NotFoundError(f"no store collection {store_name!r} (deleted while the job ran?)")
    points = [decode_point(p) for p in body.points]
    thumbnails = {}
    for point, raw in zip(points, body.points, strict=True):
        jpeg = decode_thumbnail(raw)
        if jpeg is not None:
            thumbnails[point.id] = jpeg
    StoreWriter(runtime.store, runtime.thumbnails).upsert(store_name, points, thumbnails)


@router.post("/collections/{store_name}/points/lookup")
def lookup_points(store_name: str, body: IdsIn, runtime: InternalDep) -> dict[str, list[str]]:
    """Which of these ids are stored already (a resumed job skips embedding them)."""
    return {"ids": [p.id for p in runtime.store.retrieve(store_name, body.ids)]}


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retry: bool = False  # the task's own retry after a transient error: not a new delivery


@router.post("/jobs/{job_id}/chunks/{idx}/start")
def start_chunk(job_id: str, idx: int, body: StartIn, runtime: InternalDep) -> dict[str, Any]:
    work = _coordinator(runtime).start_chunk(job_id, idx, body.retry)
    return {"work": work.model_dump(mode="json") if work else None}


@router.post("/jobs/{job_id}/chunks/{idx}/batches")
def record_batch(job_id: str, idx: int, body: BatchIn, runtime: InternalDep) -> dict[str, bool]:
    if body.skipped > body.done:
        raise InvalidInput(f"skipped ({body.skipped}) cannot exceed done ({body.done})")
    cancelled = _coordinator(runtime).record_batch(
        job_id, idx, body.batch, body.done, body.failed, body.timings, skipped=body.skipped
    )
    return {"cancelled": cancelled}


@router.post("/jobs/{job_id}/chunks/{idx}/finish", status_code=status.HTTP_204_NO_CONTENT)
def finish_chunk(job_id: str, idx: int, body: FinishIn, runtime: InternalDep) -> None:
    _coordinator(runtime).finish_chunk(job_id, idx, body.entries, body.error)
