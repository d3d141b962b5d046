"""Request and response pieces shared by the meaning-math routes: limits, uploads, image inputs, echoes."""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from services.accounts.principal import Principal
from services.api.body_limit import lower_body_cap
from services.api.routes.embed import decode_base64_image
from services.api.text_input import check_text
from services.catalog.collections import CollectionInfo
from services.core.errors import ImageError, InvalidInput, PayloadTooLarge, PointNotFound
from services.core.settings import Limits
from services.core.types import Vector
from services.encoders.decode import decode_image
from services.query.search import QueryInfo
from services.runtime import Runtime
from services.vectorstore.base import parse_point_id

UPLOAD_FIELDS = ("files", "file", "uploads", "images")


class TermOut(BaseModel):
    text: str
    kind: str
    weight: float
    norm: float


class QueryOut(BaseModel):
    """What the server understood: canonical expression, terms with weights and norms, ‖Σ wᵢtᵢ‖."""

    expression: str
    terms: list[TermOut]
    norm: float
    vector: str
    centered: bool = False
    templates: list[str] = []


def query_out(q: QueryInfo) -> QueryOut:
    return QueryOut(
        expression=q.expression,
        terms=[TermOut(text=t.text, kind=t.kind, weight=t.weight, norm=t.norm) for t in q.terms],
        norm=q.norm,
        vector=q.vector,
        centered=q.centered,
        templates=list(q.templates),
    )


def check_limit(limit: int, limits: Limits, field: str = "limit") -> None:
    if limit > limits.max_limit:
        raise InvalidInput(f"{field} is {limit}, at most {limits.max_limit} is allowed")


def check_image_count(n: int, limits: Limits, what: str = "images") -> None:
    if n > limits.max_images_per_request:
        raise InvalidInput(f"at most {limits.max_images_per_request} {what} per request, got {n}")


def encode_uploads(runtime: Runtime, uploads: list[str] | None) -> Vector | None:
    """Unit image vectors of base64 uploads (``upload(i)`` is the i-th), or None without uploads."""
    if not uploads:
        return None
    limits = runtime.settings.limits
    check_image_count(len(uploads), limits, "uploads")
    side = runtime.encoder.decode_side
    images = [decode_base64_image(u, limits, f"uploads[{i}]", side) for i, u in enumerate(uploads)]
    return runtime.encoder.encode_images(images)


async def read_multipart(request: Request, runtime: Runtime) -> tuple[dict[str, str], list[object]]:
    """A multipart request's text fields and its decoded images (``files`` parts, in order).

    Limits: at most ``max_images_per_request`` files, each at most ``max_upload_bytes`` (413), each
    within ``max_image_pixels`` (422, the decompression-bomb guard).
    """
    limits = runtime.settings.limits
    total = limits.max_upload_bytes * limits.max_images_per_request + 1_000_000
    # Enforced by the body-limit middleware from Content-Length and, for a chunked body, while it streams.
    lower_body_cap(request, total, "SIGNIFIER_LIMITS__MAX_UPLOAD_BYTES × MAX_IMAGES_PER_REQUEST")
    form = await request.form(max_files=limits.max_images_per_request + 1, max_fields=64)
    fields: dict[str, str] = {}
    files: list[UploadFile] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key not in UPLOAD_FIELDS:
                raise InvalidInput(f"unexpected file part {key!r}: send images as 'files' parts")
            files.append(value)
        elif key in fields:
            raise InvalidInput(f"form field {key!r} is given twice")
        else:
            fields[key] = value
    check_image_count(len(files), limits, "uploaded files")
    images: list[object] = []
    for i, f in enumerate(files):
        if f.size is not None and f.size > limits.max_upload_bytes:
            raise PayloadTooLarge(
                f"upload {i} ({f.filename!r}) is {f.size:,} bytes, over the limit of {limits.max_upload_bytes:,}"
            )
        data = await f.read(limits.max_upload_bytes + 1)
        if len(data) > limits.max_upload_bytes:
            raise PayloadTooLarge(f"upload {i} ({f.filename!r}) is over the limit of {limits.max_upload_bytes:,} bytes")
        try:
            images.append(decode_image(data, limits.max_image_pixels, runtime.encoder.decode_side).image)
        except ImageError as exc:
            raise ImageError(f"upload {i} ({f.filename!r}): {exc.message}") from None
    return fields, images


def form_json(fields: dict[str, str]) -> dict[str, Any]:
    """The request object of a multipart form: its ``query`` field (JSON), or the plain fields.

    Plain fields are taken as JSON where they parse (``limit=5``, ``explain=true``, ``filter={...}``),
    else as strings (``expression="a" - "b"`` is not JSON, so it stays text).
    """
    if "query" in fields:
        if len(fields) > 1:
            raise InvalidInput("send either a 'query' JSON field or separate fields, not both")
        try:
            obj = json.loads(fields["query"])
        except ValueError as exc:
            raise InvalidInput(f"form field 'query' is not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise InvalidInput("form field 'query' must be a JSON object")
        check_text(obj, "query")
        return obj
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "expression":
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    check_text(out, "form")  # a JSON escape in a field ("\\udc30") decodes to a lone surrogate
    return out


class PointRef(BaseModel):
    """A stored point's vector as an image term: ``{"id": ..., "collection": ...}``."""

    model_config = ConfigDict(extra="forbid")
    id: str
    collection: str | None = Field(None, description="Defaults to the request's 'collection'.")
    vector: Literal["image", "text"] = "image"


ImageInput = str | PointRef


def image_inputs(
    runtime: Runtime, principal: Principal, items: list[ImageInput], default_collection: str | None
) -> tuple[list[str], Vector]:
    """Labels and (n, d) unit vectors for base64 images and point references, in order.

    Base64 images are labelled ``upload <i>``; points by their id. A point's collection must belong to
    the caller's team (else 404, as for any collection).
    """
    limits = runtime.settings.limits
    if not items:
        raise InvalidInput("give at least one image (base64, or {\"id\": ..., \"collection\": ...})")
    check_image_count(len(items), limits)
    labels: list[str] = []
    rows: list[Vector | None] = []
    pending_uploads: list[tuple[int, object]] = []
    refs: dict[str, list[tuple[int, PointRef]]] = {}
    for i, item in enumerate(items):
        if isinstance(item, str):
            pending_uploads.append((i, decode_base64_image(item, limits, f"images[{i}]", runtime.encoder.decode_side)))
            labels.append(f"upload {i}")
        else:
            name = item.collection or default_collection
            if not name:
                raise InvalidInput(f"images[{i}] names a point but no collection ('collection' on it or the request)")
            refs.setdefault(name, []).append((i, item))
            labels.append(item.id)
        rows.append(None)
    if pending_uploads:
        vecs = runtime.encoder.encode_images([im for _, im in pending_uploads])
        for (i, _), v in zip(pending_uploads, vecs, strict=True):
            rows[i] = v
    for name, wanted in refs.items():
        info: CollectionInfo = runtime.collections.get(principal, name)
        found = {r.id: r for r in runtime.store.retrieve(info.store_name, [p.id for _, p in wanted], True)}
        for i, ref in wanted:
            rec = found.get(parse_point_id(ref.id) or ref.id)
            if rec is None:
                raise PointNotFound(ref.id, info.name)
            if ref.vector not in rec.vectors:
                raise InvalidInput(f"images[{i}]: point {ref.id!r} has no {ref.vector} vector")
            rows[i] = rec.vectors[ref.vector]
    return labels, np.stack([r for r in rows if r is not None]).astype(np.float32)
