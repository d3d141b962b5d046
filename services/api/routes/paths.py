"""``POST /v1/collections/{name}/path``: points ordered along a short path; optionally a walk from A to B."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.query_io import QueryOut, encode_uploads, query_out
from services.core.errors import InvalidInput, PointNotFound
from services.core.settings import Limits
from services.core.types import Vector
from services.query.context import build_resolver
from services.query.paths import shortest_path, walk
from services.query.resolve import Resolver
from services.query.search import compose_expression
from services.vectorstore.base import parse_point_id
from services.vectorstore.filters import Filter, parse_filter

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
def path(name: str, body: PathRequest, runtime: RuntimeDep, principal: PrincipalDep) -> PathResponse:
    """Order points (``ids``, or the top ``limit`` of ``expression``) along a short open path
    (nearest-neighbour tours + 2-opt, angular distance); ``walk`` adds a slerp walk between two expressions."""
    limits = runtime.settings.limits
    if body.ids is not None and body.expression is not None:
        raise InvalidInput("give either 'ids' or 'expression', not both")
    if body.ids is None and body.expression is None and body.walk is None:
        raise InvalidInput("give 'ids' or 'expression' to order, or a 'walk'")
    n = len(body.ids) if body.ids is not None else body.limit
    if (body.ids is not None or body.expression is not None) and n > limits.max_path_points:
        raise InvalidInput(f"a path may order at most {limits.max_path_points} points, got {n}")
    if body.walk is not None and body.walk.steps > limits.max_walk_steps:
        raise InvalidInput(f"a walk may take at most {limits.max_walk_steps} steps, got {body.walk.steps}")
    info = runtime.collections.get(principal, name)
    uploads = encode_uploads(runtime, body.uploads)
    resolver = build_resolver(
        runtime, info, uploads, center=body.center, templates=body.templates, using=body.vector
    )
    flt = parse_filter(body.filter, limits)
    ids, payloads, vectors, query = _points(resolver, body, flt, limits)
    order: list[PathPoint] = []
    length = input_length = 0.0
    if ids:
        start = None
        if body.start is not None:
            key = parse_point_id(body.start) or body.start
            if key not in ids:
                raise InvalidInput(f"start {body.start!r} is not one of the points to order")
            start = ids.index(key)
        res = shortest_path(vectors, start)
        x = vectors.astype(np.float64)
        prev = None
        for i in res.order:
            step = 0.0 if prev is None else float(np.arccos(np.clip(x[prev] @ x[i], -1.0, 1.0)))
            order.append(PathPoint(id=ids[i], payload=payloads[i], step=step))
            prev = i
        length, input_length = res.length, res.input_length
    walked = None
    if body.walk is not None:
        a = compose_expression(body.walk.start, resolver, limits).vector
        b = compose_expression(body.walk.end, resolver, limits).vector
        steps = walk(resolver.store, resolver.collection, a, b, body.walk.steps, using=body.vector, filter=flt)
        walked = [WalkPoint(t=s.t, id=s.hit.id, score=s.hit.score, payload=s.hit.payload) for s in steps]
    return PathResponse(order=order, length=length, input_length=input_length, walk=walked, query=query)


def _points(
    resolver: Resolver, body: PathRequest, flt: Filter | None, limits: Limits
) -> tuple[list[str], list[dict[str, Any]], Vector, QueryOut | None]:
    """The points to order: ids (all must exist, no repeats) or an expression's top hits."""
    store, using = resolver.store, body.vector
    if body.ids is not None:
        keys = [parse_point_id(i) or i for i in body.ids]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise InvalidInput(f"point {dup!r} is listed twice")
        found = {r.id: r for r in store.retrieve(resolver.collection, keys, with_vectors=True)}
        for raw, key in zip(body.ids, keys, strict=True):
            if key not in found:
                raise PointNotFound(raw, resolver.label)
            if using not in found[key].vectors:
                raise InvalidInput(f"point {raw!r} has no {using} vector")
        recs = [found[k] for k in keys]
        return keys, [r.payload for r in recs], np.stack([r.vectors[using] for r in recs]), None
    if body.expression is None:
        return [], [], np.zeros((0, 0), dtype=np.float32), None
    composed = compose_expression(body.expression, resolver, limits)
    hits = store.search(
        resolver.collection, composed.vector, using=using, limit=body.limit, filter=flt, with_vectors=True
    )
    kept = [h for h in hits if h.vectors and using in h.vectors]
    vectors = np.stack([h.vectors[using] for h in kept]) if kept else np.zeros((0, 0), dtype=np.float32)  # type: ignore[index]
    return [h.id for h in kept], [h.payload for h in kept], vectors, query_out(composed.info(using))
