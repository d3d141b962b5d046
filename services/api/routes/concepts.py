"""Per-collection query configuration: saved concepts (``@name``), prompt templates, modality means."""

from __future__ import annotations

import datetime as dt

import numpy as np
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionDep, PrincipalDep, QueryServicesDep
from services.api.query_io import QueryOut, query_out
from services.query.concepts import Concept, check_concept_name, check_savable, check_templates
from services.query.modality import gap
from services.query.search import compose_expression, parse_expression

router = APIRouter(prefix="/v1/collections", tags=["concepts"])


class ConceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(examples=['axis("happy", "sad") + 0.5*"sunny"'])
    description: str = Field("", max_length=1_000)


class ConceptOut(BaseModel):
    name: str
    expression: str = Field(description="Canonical text of the saved expression.")
    description: str
    model: str = Field(description="The model id of the server that saved it.")
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    query: QueryOut | None = None


class ConceptList(BaseModel):
    concepts: list[ConceptOut]


def _out(c: Concept, query: QueryOut | None = None) -> ConceptOut:
    return ConceptOut.model_validate(c, from_attributes=True).model_copy(update={"query": query})


@router.get("/{name}/concepts", response_model=ConceptList)
def list_concepts(info: CollectionDep, qs: QueryServicesDep) -> ConceptList:
    return ConceptList(concepts=[_out(c) for c in qs.concepts.list(info.id)])


@router.get("/{name}/concepts/{concept}", response_model=ConceptOut)
def get_concept(concept: str, info: CollectionDep, qs: QueryServicesDep) -> ConceptOut:
    return _out(qs.concepts.get(info.id, info.name, concept))


@router.put(
    "/{name}/concepts/{concept}",
    response_model=ConceptOut,
    responses={201: {"model": ConceptOut, "description": "Saved as a new concept (200: replaced one)."}},
)
def put_concept(
    concept: str,
    body: ConceptIn,
    response: Response,
    info: CollectionDep,
    qs: QueryServicesDep,
    principal: PrincipalDep,
) -> ConceptOut:
    """Save (201) or replace (200) a concept; use it as ``@concept`` in this collection's expressions.

    The expression must resolve now: its points exist, the concepts it uses exist, no cycle, no upload(i).
    """
    check_concept_name(concept)
    limits = qs.limits
    terms = parse_expression(body.expression, limits)
    check_savable(terms)
    # Resolving inside the new concept's own expansion refuses any path back to it (@a → @b → @a).
    resolver = qs.resolver(info).expanding(concept)
    composed = compose_expression(body.expression, resolver, limits)
    saved, created = qs.concepts.put(
        info.id, concept, composed.info("image").expression, qs.encoder.model_id, body.description, principal.actor
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _out(saved, query_out(composed.info("image")))


@router.delete("/{name}/concepts/{concept}", status_code=status.HTTP_204_NO_CONTENT)
def delete_concept(concept: str, info: CollectionDep, qs: QueryServicesDep) -> Response:
    qs.concepts.delete(info.id, info.name, concept)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class Templates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates: list[str] = Field(examples=[["a photo of {}", "a picture of {}", "{}"]])


@router.get("/{name}/templates", response_model=Templates)
def get_templates(info: CollectionDep, qs: QueryServicesDep) -> Templates:
    """The collection's prompt templates (empty: text terms are encoded as written)."""
    return Templates(templates=list(qs.templates.get(info.id)))


@router.put("/{name}/templates", response_model=Templates)
def put_templates(body: Templates, info: CollectionDep, qs: QueryServicesDep) -> Templates:
    """Set the templates: each plain text term then becomes the ensemble of the filled-in templates."""
    templates = check_templates(body.templates, qs.limits.max_templates)
    qs.templates.put(info.id, templates)
    return Templates(templates=list(templates))


@router.delete("/{name}/templates", status_code=status.HTTP_204_NO_CONTENT)
def delete_templates(info: CollectionDep, qs: QueryServicesDep) -> Response:
    qs.templates.delete(info.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class MeanOut(BaseModel):
    count: int = Field(description="Points that have this vector.")
    norm: float = Field(description="‖mean‖: near 1 for a tight cone, near 0 for vectors spread evenly.")


class ModalityOut(BaseModel):
    points: int
    scanned: int = Field(
        description="Points the means were computed from: all of them, or a uniform sample of "
        "SIGNIFIER_LIMITS__SCAN_EXACT_POINTS in a larger collection (the mean's error is then about σ/√scanned)."
    )
    means: dict[str, MeanOut]
    gap: dict[str, float] | None = Field(None, description="cosine and distance between the two means.")


@router.get("/{name}/modality", response_model=ModalityOut)
def modality(
    info: CollectionDep,
    qs: QueryServicesDep,
    refresh: bool = Query(False, description="Scan the collection again even if the cache looks fresh."),
) -> ModalityOut:
    """The collection's modality means (what ``center: true`` subtracts) and the gap between them."""
    means = qs.means.get(qs.store, info.id, info.store_name, info.name, refresh=refresh)
    points = next(iter(means.values())).points if means else 0
    g = gap(means["image"].mean, means["text"].mean) if {"image", "text"} <= set(means) else None
    return ModalityOut(
        points=points,
        scanned=min(points, qs.limits.scan_exact_points),
        means={k: MeanOut(count=m.count, norm=float(np.linalg.norm(m.mean))) for k, m in means.items()},
        gap=g,
    )
