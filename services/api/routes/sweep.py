"""``POST /v1/collections/{name}/sweep``: the top k of ``expression + w*(term)`` at each weight w, in one request."""

from __future__ import annotations

import math
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionDep, QueryServicesDep
from services.api.query_io import QueryOut, check_limit, query_out
from services.catalog.collections import CollectionInfo
from services.core.errors import InvalidInput
from services.query.context import QueryServices
from services.query.sweep import SweepResult, sweep
from services.vectorstore.filters import parse_filter

router = APIRouter(prefix="/v1/collections", tags=["sweep"])

MAX_WEIGHTS = 41  # e.g. 0, -0.05, …, -2: each weight is one kNN


class SweepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(examples=['"a snowy mountain"'])
    term: str = Field(description="Added with each weight: expression + w*(term).", examples=['"winter"'])
    weights: list[float] = Field(min_length=1, max_length=MAX_WEIGHTS, examples=[[0, -0.1, -0.2, -0.3, -0.5, -0.7, -1]])
    limit: int = Field(10, ge=1, description="Hits per weight.")
    vector: Literal["image", "text"] = "image"
    filter: dict[str, Any] | None = None
    uploads: list[str] | None = Field(None, description="Base64 images, referenced as upload(i).")
    center: bool = False
    templates: bool = True


class SweepHitOut(BaseModel):
    id: str
    score: float = Field(description="Cosine similarity to the query at this weight, in [-1, 1].")
    payload: dict[str, Any]


class SweepStepOut(BaseModel):
    weight: float
    hits: list[SweepHitOut]
    norm: float = Field(description="‖Σ wᵢtᵢ‖ of the combined terms at this weight; 0 when they cancel out.")
    error: str | None = Field(None, description="Why this weight has no hits (its terms cancel out).")


class SweepResponse(BaseModel):
    steps: list[SweepStepOut]
    query: QueryOut
    term: QueryOut
    timings: dict[str, float]


def run_sweep(qs: QueryServices, info: CollectionInfo, body: SweepRequest) -> SweepResult:
    limits = qs.limits
    check_limit(body.limit, limits)
    for i, w in enumerate(body.weights):
        if not math.isfinite(w):
            raise InvalidInput(f"weights[{i}] must be a finite number")
    resolver = qs.resolver(info, body.uploads, center=body.center, templates=body.templates, using=body.vector)
    return sweep(
        resolver,
        body.expression,
        body.term,
        body.weights,
        limits,
        using=body.vector,
        limit=body.limit,
        filter=parse_filter(body.filter, limits),
    )


@router.post("/{name}/sweep", response_model=SweepResponse)
async def weight_sweep(body: SweepRequest, info: CollectionDep, qs: QueryServicesDep) -> SweepResponse:
    """The hits of ``expression + w*(term)`` for each weight, exactly as that search would return them.

    Every term is embedded once; each weight composes the terms afresh and runs one kNN.
    """
    res = await run_in_threadpool(run_sweep, qs, info, body)
    return SweepResponse(
        steps=[SweepStepOut.model_validate(s, from_attributes=True) for s in res.steps],
        query=query_out(res.query),
        term=query_out(res.term),
        timings=res.timings,
    )
