"""``POST /v1/collections/{name}/search``: an expression → composed vector → kNN hits (JSON or multipart)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.accounts.principal import Principal
from services.api.deps import PrincipalDep, RuntimeDep
from services.api.query_io import QueryOut, check_limit, encode_uploads, form_json, query_out, read_multipart
from services.core.errors import InvalidInput
from services.core.types import Vector
from services.query.context import build_resolver
from services.query.resolve import Resolver
from services.query.search import hit_json, search
from services.runtime import Runtime
from services.vectorstore.filters import parse_filter

router = APIRouter(prefix="/v1/collections", tags=["search"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(
        examples=['"a red circle" - "red" + "blue"', 'image(3f2a…) - 0.5*"forest"'],
        description="Terms in double quotes, weights, + and -, parentheses, image(id), text(id), upload(i), "
        "axis(A, B), @concept.",
    )
    vector: Literal["image", "text"] = Field("image", description="Search the images, or their alt-texts.")
    limit: int = Field(20, ge=1)
    offset: int = Field(0, ge=0)
    filter: dict[str, Any] | None = Field(
        None, examples=[{"must": [{"key": "color", "match": {"value": "blue"}}]}, {"shape": ["circle", "star"]}]
    )
    explain: bool = Field(False, description="Add each hit's per-term contributions (they sum to the score).")
    uploads: list[str] | None = Field(None, description="Base64 images, referenced as upload(0), upload(1), …")
    center: bool = Field(
        False, description="Subtract each modality's collection mean from the terms before mixing (modality gap)."
    )
    templates: bool = Field(True, description="Apply the collection's prompt templates to text terms, if it has any.")


class SearchResponse(BaseModel):
    hits: list[dict[str, Any]]
    query: QueryOut
    timings: dict[str, float]


def make_resolver(
    runtime: Runtime,
    principal: Principal,
    name: str,
    uploads: list[str] | None = None,
    *,
    upload_vectors: Vector | None = None,
    center: bool = False,
    templates: bool = True,
    using: str = "image",
) -> Resolver:
    """The request's resolver: base64 ``uploads`` (or already encoded ``upload_vectors``) become upload(i)."""
    info = runtime.collections.get(principal, name)
    vectors = upload_vectors if upload_vectors is not None else encode_uploads(runtime, uploads)
    return build_resolver(runtime, info, vectors, center=center, templates=templates, using=using)


def run_search(
    runtime: Runtime, principal: Principal, name: str, body: SearchRequest, images: list[object] | None = None
) -> SearchResponse:
    limits = runtime.settings.limits
    check_limit(body.limit, limits)
    if body.offset > limits.max_offset:
        raise InvalidInput(f"offset is {body.offset}, at most {limits.max_offset} is allowed")
    if images and body.uploads:
        raise InvalidInput("send uploaded images either as files or as base64 'uploads', not both")
    vectors = runtime.encoder.encode_images(images) if images else None
    resolver = make_resolver(
        runtime,
        principal,
        name,
        body.uploads,
        upload_vectors=vectors,
        center=body.center,
        templates=body.templates,
        using=body.vector,
    )
    result = search(
        resolver,
        body.expression,
        limits,
        using=body.vector,
        limit=body.limit,
        offset=body.offset,
        filter=parse_filter(body.filter, limits),
        explain=body.explain,
    )
    hits = [hit_json(h) for h in result.hits]
    return SearchResponse(hits=hits, query=query_out(result.query), timings=result.timings)


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SearchRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "The SearchRequest as JSON (without uploads)."},
                        "expression": {"type": "string", "description": "Or the fields one by one."},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        },
    }
}


@router.post("/{name}/search", response_model=SearchResponse, openapi_extra=_BODY_DOC)
async def search_collection(
    name: str, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> SearchResponse:
    """Search with an expression; the composed unit vector goes to the store's kNN.

    JSON: a ``SearchRequest`` (uploads as base64 in ``uploads``). Multipart: ``files`` parts are
    ``upload(0)``, ``upload(1)``, … and the request is a ``query`` JSON field or separate fields.
    """
    images: list[object] | None = None
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            fields, images = await read_multipart(request, runtime)
            body = SearchRequest.model_validate(form_json(fields))
        else:
            body = SearchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc)) from None
    return await run_in_threadpool(run_search, runtime, principal, name, body, images)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{loc}: {err.get('msg', '')}")
    return "invalid search request: " + "; ".join(parts)
