"""``POST /v1/collections/{name}/plane``: every point placed by two oppositions (x: Aₓ vs Bₓ, y: Aᵧ vs Bᵧ)."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from services.api.deps import CollectionDep, QueryServicesDep
from services.api.query_io import QueryOut, query_out
from services.catalog.collections import CollectionInfo
from services.core.errors import InvalidInput
from services.query.context import QueryServices
from services.query.plane import AxisInfo, PlaneResult, plane
from services.vectorstore.filters import parse_filter

router = APIRouter(prefix="/v1/collections", tags=["plane"])

DECIMALS = 5  # coordinates are rounded to 1e-5 cosine units: bulk data, and far finer than a pixel
MAX_EXTREMES = 50


class AxisSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: str = Field(description="Pole A of this axis, an expression (positive side).", examples=['"large"'])
    b: str = Field(description="Pole B of this axis, an expression (negative side).", examples=['"small"'])


class PlaneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: AxisSpec = Field(examples=[{"a": '"large"', "b": '"small"'}])
    y: AxisSpec = Field(examples=[{"a": '"snow"', "b": '"night"'}])
    limit: int | None = Field(
        None,
        ge=1,
        description="Most points placed (default and cap: SIGNIFIER_LIMITS__MAX_PLANE_POINTS); "
        "above it a seeded random sample.",
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the sample (numpy default_rng).")
    vector: Literal["image", "text"] = "image"
    filter: dict[str, Any] | None = None
    extremes: int = Field(6, ge=0, le=MAX_EXTREMES, description="Points listed per quadrant, with payload.")
    uploads: list[str] | None = Field(None, description="Base64 images, referenced as upload(i) in any pole.")
    center: bool = False
    templates: bool = True


class PointXY(BaseModel):
    id: str
    x: float = Field(description="sim(p, x.a) − sim(p, x.b), cosine units, rounded to 1e-5.")
    y: float = Field(description="sim(p, y.a) − sim(p, y.b), cosine units, rounded to 1e-5.")


class AxisOut(BaseModel):
    a: QueryOut
    b: QueryOut
    norm: float = Field(description="‖A − B‖ of the two unit pole vectors.")
    min: float
    max: float
    mean: float
    std: float


class ExtremeOut(BaseModel):
    id: str
    x: float
    y: float
    payload: dict[str, Any]


class QuadrantOut(BaseModel):
    x: Literal["a", "b"] = Field(description="The x pole this quadrant leans to (a: x > 0).")
    y: Literal["a", "b"]
    count: int = Field(description="Matching points strictly inside this quadrant (before sampling).")
    extremes: list[ExtremeOut] = Field(description="Ranked by min(±x/σx, ±y/σy): furthest into the corner.")


class PlaneResponse(BaseModel):
    points: list[PointXY]
    x_axis: AxisOut
    y_axis: AxisOut
    total: int = Field(description="Points that match (have the vector and pass the filter).")
    placed: int = Field(description="Points in 'points': total, or the sample size.")
    sampled: bool = Field(description="True when 'points' is a seeded random sample of the matching points.")
    seed: int
    decimals: int = Field(DECIMALS, description="Coordinates are rounded to this many decimals.")
    quadrants: list[QuadrantOut]
    streamed: bool = Field(
        False,
        description="True when the collection had more points than are cached (SIGNIFIER_LIMITS__MAX_CACHED_POINTS) "
        "and its vectors were streamed through this request (exact all the same, slower).",
    )
    timings: dict[str, float]


def _axis(a: AxisInfo) -> dict[str, Any]:
    return {
        "a": query_out(a.a).model_dump(),
        "b": query_out(a.b).model_dump(),
        **{k: getattr(a, k) for k in ("norm", "min", "max", "mean", "std")},
    }


def render(res: PlaneResult) -> bytes:
    """The response as compact JSON, built directly (100k points through pydantic would take seconds)."""
    xs = [round(v, DECIMALS) for v in res.x.tolist()]
    ys = [round(v, DECIMALS) for v in res.y.tolist()]
    body = {
        "points": [{"id": i, "x": x, "y": y} for i, x, y in zip(res.ids, xs, ys, strict=True)],
        "x_axis": _axis(res.x_axis),
        "y_axis": _axis(res.y_axis),
        "total": res.total,
        "placed": len(res.ids),
        "sampled": res.sampled,
        "seed": res.seed,
        "decimals": DECIMALS,
        "quadrants": [
            {
                "x": q.x,
                "y": q.y,
                "count": q.count,
                "extremes": [{"id": e.id, "x": e.x, "y": e.y, "payload": e.payload} for e in q.extremes],
            }
            for q in res.quadrants
        ],
        "streamed": res.streamed,
        "timings": res.timings,
    }
    return json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def run_plane(qs: QueryServices, info: CollectionInfo, body: PlaneRequest) -> bytes:
    limits = qs.limits
    if body.limit is not None and body.limit > limits.max_plane_points:
        raise InvalidInput(
            f"limit is {body.limit:,}, at most {limits.max_plane_points:,} points are placed "
            "(SIGNIFIER_LIMITS__MAX_PLANE_POINTS)"
        )
    resolver = qs.resolver(info, body.uploads, center=body.center, templates=body.templates, using=body.vector)
    res = plane(
        resolver,
        qs.matrices,
        ((body.x.a, body.x.b), (body.y.a, body.y.b)),
        limits,
        using=body.vector,
        sample=body.limit or limits.max_plane_points,
        seed=body.seed,
        filter=parse_filter(body.filter, limits),
        extremes=body.extremes,
    )
    return render(res)


@router.post("/{name}/plane", response_model=PlaneResponse)
async def opposition_plane(body: PlaneRequest, info: CollectionDep, qs: QueryServicesDep) -> Response:
    """Each point at (sim(p, x.a) − sim(p, x.b), sim(p, y.a) − sim(p, y.b)), exactly, from the stored vectors.

    Every matching point is placed, or a seeded random sample of ``limit`` of them (``sampled``,
    ``placed`` and ``total`` say which). The quadrants list their most extreme points over all matches.
    """
    data = await run_in_threadpool(run_plane, qs, info, body)
    return Response(data, media_type="application/json")
