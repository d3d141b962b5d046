"""Per-collection query configuration: saved concepts (``@name``), prompt templates, modality means."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.query_io import QueryOut, query_out
from services.query.concepts import Concept, check_concept_name, check_savable, check_templates
from services.query.context import build_resolver, query_services
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
    return ConceptOut(**dataclasses.asdict(c), query=query)


@router.get("/{name}/concepts", response_model=ConceptList)
def list_concepts(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> ConceptList:
    info = runtime.collections.get(principal, name)
    return ConceptList(concepts=[_out(c) for c in query_services(runtime).concepts.list(info.id)])


@router.get("/{name}/concepts/{concept}", response_model=ConceptOut)
def get_concept(name: str, concept: str, runtime: RuntimeDep, principal: PrincipalDep) -> ConceptOut:
    info = runtime.collections.get(principal, name)
    return _out(query_services(runtime).concepts.get(info.id, info.name, concept))


@router.put(
    "/{name}/concepts/{concept}",
    response_model=ConceptOut,
    responses={201: {"model": ConceptOut, "description": "Saved as a new concept (200: replaced one)."}},
)
def put_concept(
    name: str, concept: str, body: ConceptIn, response: Response, runtime: RuntimeDep, principal: PrincipalDep
) -> ConceptOut:
    """Save (201) or replace (200) a concept; use it as ``@concept`` in this collection's expressions.

    The expression must resolve now: its points exist, the concepts it uses exist, no cycle, no upload(i).
    """
    check_concept_name(concept)
    info = runtime.collections.get(principal, name)
    limits = runtime.settings.limits
    terms = parse_expression(body.expression, limits)
    check_savable(terms)
    # Resolving with the new name on the chain refuses any path back to it (@a → @b → @a).
    resolver = dataclasses.replace(build_resolver(runtime, info), _chain=(concept,))
    composed = compose_expression(body.expression, resolver, limits)
    qs = query_services(runtime)
    saved, created = qs.concepts.put(
        info.id, concept, composed.info("image").expression, runtime.encoder.model_id, body.description, principal.actor
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _out(saved, query_out(composed.info("image")))


@router.delete("/{name}/concepts/{concept}", status_code=status.HTTP_204_NO_CONTENT)
def delete_concept(name: str, concept: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    info = runtime.collections.get(principal, name)
    query_services(runtime).concepts.delete(info.id, info.name, concept)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class Templates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates: list[str] = Field(examples=[["a photo of {}", "a picture of {}", "{}"]])


@router.get("/{name}/templates", response_model=Templates)
def get_templates(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> Templates:
    """The collection's prompt templates (empty: text terms are encoded as written)."""
    info = runtime.collections.get(principal, name)
    return Templates(templates=list(query_services(runtime).templates.get(info.id)))


@router.put("/{name}/templates", response_model=Templates)
def put_templates(name: str, body: Templates, runtime: RuntimeDep, principal: PrincipalDep) -> Templates:
    """Set the templates: each plain text term then becomes the ensemble of the filled-in templates."""
    info = runtime.collections.get(principal, name)
    templates = check_templates(body.templates, runtime.settings.limits.max_templates)
    query_services(runtime).templates.put(info.id, templates)
    return Templates(templates=list(templates))


@router.delete("/{name}/templates", status_code=status.HTTP_204_NO_CONTENT)
def delete_templates(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    info = runtime.collections.get(principal, name)
    query_services(runtime).templates.delete(info.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class MeanOut(BaseModel):
    count: int = Field(description="Points that have this vector.")
    norm: float = Field(description="‖mean‖: near 1 for a tight cone, near 0 for vectors spread evenly.")


class ModalityOut(BaseModel):
    points: int
    means: dict[str, MeanOut]
    gap: dict[str, float] | None = Field(None, description="cosine and distance between the two means.")


@router.get("/{name}/modality", response_model=ModalityOut)
def modality(
    name: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    refresh: bool = Query(False, description="Scan the collection again even if the cache looks fresh."),
) -> ModalityOut:
    """The collection's modality means (what ``center: true`` subtracts) and the gap between them."""
    info = runtime.collections.get(principal, name)
    means = query_services(runtime).means.get(runtime.store, info.id, info.store_name, info.name, refresh=refresh)
    points = next(iter(means.values())).points if means else 0
    g = gap(means["image"].mean, means["text"].mean) if {"image", "text"} <= set(means) else None
    return ModalityOut(
        points=points,
        means={k: MeanOut(count=m.count, norm=float(np.linalg.norm(m.mean))) for k, m in means.items()},
        gap=g,
    )
