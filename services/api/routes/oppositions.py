"""``POST /v1/collections/{name}/oppositions``: both poles of A vs B, ordered by the similarity difference."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from services.api.deps import CollectionDep, QueryServicesDep
from services.api.query_io import QueryOut, check_limit, query_out
from services.catalog.collections import CollectionInfo
from services.core.errors import InvalidInput
from services.query.context import QueryServices
from services.query.oppositions import PoleHit, oppositions
from services.vectorstore.filters import parse_filter

router = APIRouter(prefix="/v1/collections", tags=["oppositions"])


class OppositionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: str = Field(description="Pole A, an expression.", examples=['"happy"'])
    b: str = Field(description="Pole B, an expression.", examples=['"sad"'])
    limit: int = Field(20, ge=1, description="Hits per pole.")
    vector: Literal["image", "text"] = "image"
    filter: dict[str, Any] | None = None
    explain: bool = Field(False, description="Per-term shares of sim_a and sim_b for each hit.")
    uploads: list[str] | None = Field(None, description="Base64 images, referenced as upload(i) in either pole.")
    center: bool = Field(False, description="Centre leaf terms on the collection's modality means.")
    templates: bool = True
    histogram: int | None = Field(
        None, ge=1, description="Also count sim_a − sim_b over the whole collection in this many bins (a scan)."
    )


class PoleHitOut(BaseModel):
    id: str
    delta: float = Field(description="This pole's similarity minus the other pole's (cosine units).")
    sim_a: float
    sim_b: float
    payload: dict[str, Any]
    contributions: dict[str, dict[str, float]] | None = None


class Pole(BaseModel):
    hits: list[PoleHitOut]
    query: QueryOut


class HistogramOut(BaseModel):
    edges: list[float] = Field(description="Bin edges of sim_a − sim_b; one more than counts.")
    counts: list[int]
    points: int = Field(description="Points counted: all of the collection's, or a uniform sample of them.")
    mean: float
    std: float
    collection_points: int = Field(description="Points in the collection; more than points means a sample.")
    cdf_error: float = Field(
        description="95 % bound on how far the sample's cumulative share below any delta is from the "
        "collection's (Dvoretzky–Kiefer–Wolfowitz); 0 when every point was counted."
    )


class OppositionResponse(BaseModel):
    a: Pole
    b: Pole
    axis_norm: float = Field(description="‖A − B‖ of the unit pole vectors; delta = score × axis_norm.")
    histogram: HistogramOut | None = None
    timings: dict[str, float]


def _hit(h: PoleHit) -> PoleHitOut:
    return PoleHitOut.model_validate(h, from_attributes=True)


@router.post("/{name}/oppositions", response_model=OppositionResponse)
async def opposition(body: OppositionRequest, info: CollectionDep, qs: QueryServicesDep) -> OppositionResponse:
    """Pole ``a``: decreasing sim(x, A) − sim(x, B); pole ``b``: decreasing sim(x, B) − sim(x, A).

    One kNN per pole on ±(A − B)/‖A − B‖ orders the collection exactly; ``delta`` = score × ‖A − B‖.
    """
    # One worker-thread call; a sync route would cost a second hop for FastAPI's response validation.
    return await run_in_threadpool(run_opposition, body, info, qs)


def run_opposition(body: OppositionRequest, info: CollectionInfo, qs: QueryServices) -> OppositionResponse:
    limits = qs.limits
    check_limit(body.limit, limits)
    if body.histogram is not None and body.histogram > limits.max_histogram_bins:
        raise InvalidInput(f"histogram has {body.histogram} bins, at most {limits.max_histogram_bins} are allowed")
    resolver = qs.resolver(info, body.uploads, center=body.center, templates=body.templates, using=body.vector)
    res = oppositions(
        resolver,
        body.a,
        body.b,
        limits,
        using=body.vector,
        limit=body.limit,
        filter=parse_filter(body.filter, limits),
        explain=body.explain,
        bins=body.histogram,
    )
    hist = res.histogram
    return OppositionResponse(
        a=Pole(hits=[_hit(h) for h in res.a], query=query_out(res.query_a)),
        b=Pole(hits=[_hit(h) for h in res.b], query=query_out(res.query_b)),
        axis_norm=res.axis_norm,
        histogram=HistogramOut.model_validate(hist, from_attributes=True) if hist is not None else None,
        timings=res.timings,
    )
