"""Shared by the map and duplicates routes: the refusal of empty collections, the stored result's status."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.catalog.collections import CollectionInfo
from services.core.errors import InvalidInput
from services.jobs.results import JobResult
from services.runtime import Runtime


class ResultStatus(BaseModel):
    job_id: str
    state: str = Field(description="The job's state now: a map's PCA view is there while UMAP still runs.")
    points: int = Field(description="Points in the collection when the job read it.")
    current_points: int
    stale: bool = Field(description="The collection's point count changed since: POST again to recompute.")


def check_scan(runtime: Runtime, info: CollectionInfo, what: str) -> None:
    n = runtime.store.count(info.store_name)
    if n == 0:
        raise InvalidInput(f"collection {info.name!r} is empty: there is nothing to {what}")


def status_of(result: JobResult, current: int) -> dict[str, object]:
    return {
        "job_id": result.job_id,
        "state": result.state,
        "points": result.points,
        "current_points": current,
        "stale": current != result.points,
    }
