"""Duplicate groups: ``POST /v1/collections/{name}/duplicates`` starts the job, ``GET`` reads the newest."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionDep, PrincipalDep, RuntimeDep
from services.api.routes.collection_jobs import ResultStatus, check_scan, status_of
from services.api.schemas import JobAccepted
from services.core.errors import ResultNotFound
from services.jobs.kinds import DuplicatesSource
from services.jobs.records import new_job_id
from services.query.dedup import DEFAULT_THRESHOLD

router = APIRouter(prefix="/v1/collections", tags=["duplicates"])


class DuplicatesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(
        DEFAULT_THRESHOLD, ge=-1.0, le=1.0, description="Cosine similarity at or above which two points are linked."
    )
    vector: Literal["image", "text"] = "image"


class GroupOut(BaseModel):
    ids: list[str]
    exact: bool = Field(description="Every linked pair is the same vector (cosine ≥ 1 − 1e-5).")
    min_similarity: float
    max_similarity: float


class DuplicatesOut(ResultStatus):
    threshold: float
    vector: str
    compared: int = Field(description="Points compared (those with the vector).")
    left_out: int
    searched: int = Field(0, description="Neighbour searches made: one per distinct vector (exact copies share one).")
    max_neighbours: int = Field(0, description="Neighbours at or above the threshold asked per point, at most.")
    total_groups: int
    duplicates: int = Field(description="Points beyond the first of each group (what removing them would save).")
    groups: list[GroupOut] = Field(description="Largest first; a page of them (offset, limit).")


@router.post("/{name}/duplicates", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
def find_duplicates(
    info: CollectionDep, body: DuplicatesRequest, runtime: RuntimeDep, principal: PrincipalDep
) -> JobAccepted:
    """Group the collection's exact and near duplicates (a job: each point's neighbours above the threshold,
    from the store's batched searches, linked into groups; any size)."""
    check_scan(runtime, info, "duplicates")
    job_id = new_job_id()
    source = DuplicatesSource(collection_id=info.id, job_id=job_id, threshold=body.threshold, vector=body.vector)
    runtime.jobs.create(principal, info.name, info.store_name, source, job_id=job_id)
    runtime.queue.submit(job_id)
    return JobAccepted(job_id=job_id, state="queued", collection=info.name)


@router.get("/{name}/duplicates", response_model=DuplicatesOut)
def read_duplicates(
    info: CollectionDep,
    runtime: RuntimeDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1_000),
) -> DuplicatesOut:
    """The newest duplicates job's groups of the collection (``stale`` when its point count changed)."""
    result = runtime.results.latest(info.id, "duplicates")
    if result is None:
        raise ResultNotFound("duplicate groups", info.name, "duplicates")
    data = {**result.data, "groups": result.data["groups"][offset : offset + limit]}
    return DuplicatesOut.model_validate({**data, **status_of(result, runtime.store.count(info.store_name))})
