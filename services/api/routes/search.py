"""``POST /v1/collections/{name}/search``: an expression → composed vector → kNN hits (JSON or multipart)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from services.api.body import FilePart, FormLimits, parse_body
from services.api.deps import CollectionDep, QueryServicesDep
from services.api.query_io import QueryOut, check_limit
from services.catalog.collections import CollectionInfo
from services.core.errors import ImageError, InvalidInput
from services.core.settings import Limits
from services.encoders.decode import decode_image
from services.query.context import QueryServices
from services.query.dedup import DEFAULT_THRESHOLD
from services.query.filter_keys import filter_key_warnings
from services.query.moments import VideoGroup, search_grouped
from services.query.relative import RelativeOptions, RelativeSearch, with_relative
from services.query.rerank import Rerank, check_rerank
from services.query.search import SearchResult, search
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
    dedup: bool = Field(False, description="Hide hits whose cosine to a higher-ranked hit is at least dedup_threshold.")
    dedup_threshold: float = Field(DEFAULT_THRESHOLD, ge=-1.0, le=1.0, description="Cosine similarity in [-1, 1].")
    diversity: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="MMR (Qdrant's): 0 ranks by relevance only, 1 by dissimilarity to the hits above only.",
    )
    diversity_candidates: int | None = Field(
        None, ge=1, description="Nearest neighbours MMR picks from (default 4 × (offset + limit))."
    )
    group_by: Literal["video"] | None = Field(
        None, description="'video': one entry per video (up to `limit` of them) with its best moments, in `groups`."
    )
    group_size: int = Field(3, ge=1, le=50, description="With group_by: moments (frames) per video.")
    # Relative scores (services/query/relative.py): any of these turns them on.
    relative: bool = Field(False, description="Add each hit's z-score and percentile against a stated sample.")
    min_z: float | None = Field(None, allow_inf_nan=False, description="Drop hits whose z-score is below this.")
    min_percentile: float | None = Field(None, ge=0, le=100, description="Drop hits below this percentile.")
    background: list[str] | None = Field(
        None,
        max_length=16,
        examples=[['"3hlufakjsdnfa3fnaj;ld"']],
        description="Background expressions (e.g. keyboard mash): relative scores use score − their mean similarity.",
    )
    relative_sample: int = Field(2_000, ge=10, le=100_000, description="Stored vectors sampled for the baseline.")
    relative_seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of that sample (numpy default_rng).")

    def wants_relative(self) -> bool:
        return self.relative or self.min_z is not None or self.min_percentile is not None or bool(self.background)


class HitOut(BaseModel):
    """One search hit; ``contributions`` only when the request asked to ``explain``."""

    id: str
    score: float = Field(description="Cosine similarity to the query vector, in [-1, 1].")
    payload: dict[str, Any] = Field(description="What was stored with the point: source, alt_text, ...")
    contributions: dict[str, float] | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="Each term's share of the score (they sum to it); present with explain: true.",
    )
    z: float | None = Field(
        None, exclude_if=lambda v: v is None, description="(relative − sample mean) / sample std; with relative."
    )
    percentile: float | None = Field(
        None, exclude_if=lambda v: v is None, description="Share of the sample scoring ≤ this hit, 0–100."
    )
    relative_score: float | None = Field(
        None, exclude_if=lambda v: v is None, description="score − mean similarity to the background prompts."
    )


class RelativeOut(BaseModel):
    """The stated sample the relative scores come from."""

    sample: int = Field(description="Stored vectors in the sample (all of them in a smaller collection).")
    seed: int
    points: int = Field(description="Points the sample was drawn from (those with the searched vector).")
    mean: float
    std: float
    background: list[str]
    min_z: float | None
    min_percentile: float | None
    cut: int = Field(description="Hits dropped by min_z / min_percentile.")


class GroupOut(BaseModel):
    """One video and its best moments (frames, best first: each hit's payload has ``timestamp`` in s)."""

    video_id: str | None = Field(description="The video's id; null for a hit that is no video frame.")
    score: float = Field(description="The best moment's score.")
    source: str | None = None
    duration: float | None = Field(None, description="The video's length in seconds.")
    moments: list[HitOut]


class SearchResponse(BaseModel):
    hits: list[HitOut]
    query: QueryOut
    timings: dict[str, float]
    warnings: list[str] = Field(
        default_factory=list,
        description="Things that may explain few or no hits, e.g. a filter key that no stored payload has: "
        "\"filter key 'colr' is not a payload key of collection 'shapes', so conditions on it match no point; "
        "did you mean 'color'? Known keys: ...\". Keys are known from a sample of 256 stored payloads.",
    )
    groups: list[GroupOut] | None = Field(
        None, exclude_if=lambda v: v is None, description="With group_by: one entry per video, best first."
    )
    relative: RelativeOut | None = Field(None, exclude_if=lambda v: v is None)


def run_search(
    qs: QueryServices, info: CollectionInfo, body: SearchRequest, images: list[object] | None = None
) -> SearchResult | RelativeSearch | tuple[SearchResult, list[VideoGroup]]:
    """The search one request asks for: ``images`` (decoded file parts) or base64 ``uploads`` are upload(i)."""
    limits = qs.limits
    check_limit(body.limit, limits)
    if body.offset > limits.max_offset:
        raise InvalidInput(f"offset is {body.offset}, at most {limits.max_offset} is allowed")
    if images and body.uploads:
        raise InvalidInput("send uploaded images either as files or as base64 'uploads', not both")
    rerank = Rerank(body.dedup, body.dedup_threshold, body.diversity, body.diversity_candidates)
    check_rerank(rerank, body.limit, body.offset, limits.max_rerank_candidates)
    vectors = qs.encoder.encode_images(images) if images else None
    resolver = qs.resolver(
        info, body.uploads, upload_vectors=vectors, center=body.center, templates=body.templates, using=body.vector
    )
    filt = parse_filter(body.filter, limits)
    if body.group_by == "video":
        if body.dedup or body.diversity is not None or body.wants_relative():
            raise InvalidInput("group_by does not combine with dedup, diversity or relative scores")
        result, groups = search_grouped(
            resolver,
            body.expression,
            limits,
            using=body.vector,
            groups=body.limit,
            per_group=body.group_size,
            filter=filt,
            explain=body.explain,
        )
    else:
        groups = None
        result = search(
            resolver,
            body.expression,
            limits,
            using=body.vector,
            limit=body.limit,
            offset=body.offset,
            filter=filt,
            explain=body.explain,
            rerank=rerank,
        )
    warnings = filter_key_warnings(qs.store, info.store_name, info.name, filt, cache=qs.filter_keys)
    if warnings:
        result = dataclasses.replace(result, warnings=[*result.warnings, *warnings])
    if groups is not None:
        return result, groups
    if not body.wants_relative():
        return result
    options = RelativeOptions(
        body.background or [], body.relative_sample, body.relative_seed, body.min_z, body.min_percentile
    )
    return with_relative(result, resolver, qs.matrices, limits, options, using=body.vector)


def search_form(limits: Limits) -> FormLimits:
    """A multipart search: at most ``max_images_per_request`` images of ``max_upload_bytes`` each."""
    return FormLimits(
        max_files=limits.max_images_per_request,
        max_fields=64,
        max_file_bytes=limits.max_upload_bytes,
        body_cap=limits.max_upload_bytes * limits.max_images_per_request + 1_000_000,
        body_cap_setting="SIGNIFIER_LIMITS__MAX_UPLOAD_BYTES × MAX_IMAGES_PER_REQUEST",
    )


async def decode_files(files: list[FilePart], qs: QueryServices) -> list[object]:
    """The images of a form's file parts, decoded for the encoder (each within ``max_image_pixels``)."""
    images: list[object] = []
    for f in files:
        data = await f.read()
        try:
            images.append(decode_image(data, qs.limits.max_image_pixels, qs.encoder.decode_side).image)
        except ImageError as exc:
            raise ImageError(f"upload {f.index} ({f.filename!r}): {exc.message}") from None
    return images


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
async def search_collection(request: Request, info: CollectionDep, qs: QueryServicesDep) -> SearchResponse:
    """Search with an expression; the composed unit vector goes to the store's kNN.

    JSON: a ``SearchRequest`` (uploads as base64 in ``uploads``). Multipart: ``files`` parts are
    ``upload(0)``, ``upload(1)``, … and the request is a ``query`` JSON field or separate fields.
    """
    body = await parse_body(request, SearchRequest, search_form(qs.limits))
    images = await decode_files(body.form.files, qs) if body.form is not None else None
    result = await run_in_threadpool(run_search, qs, info, body.value, images)
    if isinstance(result, tuple):
        found, groups = result
        out = SearchResponse.model_validate(found, from_attributes=True)
        out.groups = [GroupOut.model_validate(g, from_attributes=True) for g in groups]
        return out
    return SearchResponse.model_validate(result, from_attributes=True)
