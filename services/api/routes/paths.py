"""``POST /v1/collections/{name}/path``: points ordered along a short path; optionally a walk from A to B."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionDep, QueryServicesDep
from services.api.query_io import QueryOut
from services.query import paths
from services.vectorstore.filters import parse_filter

router = APIRouter(prefix="/v1/collections", tags=["paths"])


class WalkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(alias="from", description="Expression at t = 0.", examples=['"a small red circle"'])
    end: str = Field(alias="to", description="Expression at t = 1.", examples=['"a large blue square"'])
    steps: int = Field(10, ge=2)


class PathRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    ids: list[str] | None = Field(None, min_length=1, description="Points to order (at least one).")
    expression: str | None = Field(None, description="Or: order the top `limit` hits of this expression.")
    limit: int = Field(20, ge=1, description="Hits of `expression` to order.")
    start: str | None = Field(None, description="Id of the point the path must start at.")
    walk: WalkSpec | None = None
    vector: Literal["image", "text"] = "image"
    filter: dict[str, Any] | None = Field(None, description="Applies to `expression` hits and to the walk.")
    uploads: list[str] | None = None
    center: bool = False
    templates: bool = True


class PathPoint(BaseModel):
    id: str
    payload: dict[str, Any]
    step: float = Field(description="Angle to the previous point, radians (0 for the first).")


class WalkPoint(BaseModel):
    t: float
    id: str
    score: float
    payload: dict[str, Any]


class PathResponse(BaseModel):
    order: list[PathPoint]
    length: float = Field(description="Sum of the angles between consecutive points, radians.")
    input_length: float = Field(description="The same for the points in the order they were given (or ranked).")
    walk: list[WalkPoint] | None = None
    query: QueryOut | None = None


@router.post("/{name}/path", response_model=PathResponse)
def path(body: PathRequest, info: CollectionDep, qs: QueryServicesDep) -> PathResponse:
    """Order points (``ids``, or the top ``limit`` of ``expression``) along a short open path
    (nearest-neighbour tours + 2-opt, angular distance); ``walk`` adds a slerp walk between two expressions."""
    walk = body.walk
    result = paths.order_path(
        lambda: qs.resolver(info, body.uploads, center=body.center, templates=body.templates, using=body.vector),
        qs.limits,
        ids=body.ids,
        expression=body.expression,
        limit=body.limit,
        start=body.start,
        walk_spec=paths.WalkSpec(walk.start, walk.end, walk.steps) if walk is not None else None,
        using=body.vector,
        filter=parse_filter(body.filter, qs.limits),
    )
    return PathResponse.model_validate(result, from_attributes=True)
