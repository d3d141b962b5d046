"""Request and response pieces shared by the meaning-math routes: limits, image inputs, labels, echoes."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from services.accounts.principal import Principal
from services.catalog.collections import CollectionInfo, CollectionRegistry
from services.core.errors import InvalidInput, PointNotFound
from services.core.settings import Limits
from services.core.types import Vector
from services.query.ast import TermKind
from services.query.classify import label_vectors, parse_labels
from services.query.concepts import check_templates
from services.query.context import QueryServices, check_image_count
from services.query.search import QueryInfo
from services.vectorstore.base import parse_point_id

LabelInput = str | dict[str, Any]


class TermOut(BaseModel):
    text: str
    kind: TermKind = Field(description="What the term is; the UI styles it by this.")
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
    return QueryOut.model_validate(q, from_attributes=True)


def check_limit(limit: int, limits: Limits, field: str = "limit") -> None:
    if limit > limits.max_limit:
        raise InvalidInput(f"{field} is {limit}, at most {limits.max_limit} is allowed")


class PointRef(BaseModel):
    """A stored point's vector as an image term: ``{"id": ..., "collection": ...}``."""

    model_config = ConfigDict(extra="forbid")
    id: str
    collection: str | None = Field(None, description="Defaults to the request's 'collection'.")
    vector: Literal["image", "text"] = "image"


ImageInput = str | PointRef


def encode_labels(
    qs: QueryServices, labels: list[LabelInput], templates: list[str] | None, min_labels: int = 2
) -> tuple[list[str], Vector]:
    """Label names and their (k, d) unit vectors (prompt ensembles × templates)."""
    limits = qs.limits
    parsed = parse_labels(labels, limits.max_labels, min_labels)
    tpl = check_templates(templates, limits.max_templates) if templates is not None else ()
    return [lab.name for lab in parsed], label_vectors(parsed, tpl, qs.encode_texts)


def image_inputs(
    qs: QueryServices,
    collections: CollectionRegistry,
    principal: Principal,
    items: list[ImageInput],
    default_collection: str | None,
) -> tuple[list[str], Vector]:
    """Labels and (n, d) unit vectors for base64 images and point references, in order.

    Base64 images are labelled ``upload <i>``; points by their id. A point's collection must belong to
    the caller's team (else 404, as for any collection).
    """
    limits = qs.limits
    if not items:
        raise InvalidInput('give at least one image (base64, or {"id": ..., "collection": ...})')
    check_image_count(len(items), limits)
    labels: list[str] = []
    rows: list[Vector | None] = []
    pending_uploads: list[tuple[int, object]] = []
    refs: dict[str, list[tuple[int, PointRef]]] = {}
    for i, item in enumerate(items):
        if isinstance(item, str):
            pending_uploads.append((i, qs.decode_base64(item, f"images[{i}]")))
            labels.append(f"upload {i}")
        else:
            name = item.collection or default_collection
            if not name:
                raise InvalidInput(f"images[{i}] names a point but no collection ('collection' on it or the request)")
            refs.setdefault(name, []).append((i, item))
            labels.append(item.id)
        rows.append(None)
    if pending_uploads:
        vecs = qs.encoder.encode_images([im for _, im in pending_uploads])
        for (i, _), v in zip(pending_uploads, vecs, strict=True):
            rows[i] = v
    for name, wanted in refs.items():
        info: CollectionInfo = qs.check_model(collections.get(principal, name))  # 409: another model's points
        found = {r.id: r for r in qs.store.retrieve(info.store_name, [p.id for _, p in wanted], True)}
        for i, ref in wanted:
            rec = found.get(parse_point_id(ref.id) or ref.id)
            if rec is None:
                raise PointNotFound(ref.id, info.name)
            if ref.vector not in rec.vectors:
                raise InvalidInput(f"images[{i}]: point {ref.id!r} has no {ref.vector} vector")
            rows[i] = rec.vectors[ref.vector]
    return labels, np.stack([r for r in rows if r is not None]).astype(np.float32)
