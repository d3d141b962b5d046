"""Saved concepts (named expressions, ``@name``) and prompt templates, per collection.

A concept stores the canonical text of its expression and the model id of the server that saved
it; it is resolved afresh on every use (text embeddings come from the cache), so it follows edits
of the concepts it uses. Templates are read on every search, so they are kept in memory for
``TEMPLATE_TTL_S`` seconds: another API replica sees a change within that time.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.errors import ConceptNotFound, InvalidInput
from services.core.timeutil import aware
from services.query.ast import CONCEPT_NAME_RE, AxisTerm, ConceptTerm, UploadTerm, WeightedTerm, linearize
from services.query.models import ConceptRow, TemplateRow

MAX_CONCEPT_NAME = 64
MAX_TEMPLATE_CHARS = 200
TEMPLATE_TTL_S = 5.0


@dataclass(frozen=True)
class Concept:
    name: str
    expression: str
    description: str
    model: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


def _concept(row: ConceptRow) -> Concept:
    created, updated = aware(row.created_at), aware(row.updated_at)
    return Concept(row.name, row.expression, row.description, row.model, row.created_by, created, updated)


def check_concept_name(name: str) -> str:
    if len(name) > MAX_CONCEPT_NAME or not CONCEPT_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid concept name {name!r}: use up to {MAX_CONCEPT_NAME} ASCII letters, digits and '_', "
            "with single '-' between them"
        )
    return name


def used_concepts(terms: Sequence[WeightedTerm]) -> set[str]:
    """Names of the concepts an expression refers to directly (inside axes too)."""
    out: set[str] = set()
    for _, term in terms:
        if isinstance(term, ConceptTerm):
            out.add(term.name)
        elif isinstance(term, AxisTerm):
            out |= used_concepts(linearize(term.a)) | used_concepts(linearize(term.b))
    return out


def check_savable(terms: Sequence[WeightedTerm]) -> None:
    """A concept must not use ``upload(i)``: there is no uploaded image when it is used later."""
    for _, term in terms:
        if isinstance(term, UploadTerm):
            raise InvalidInput(f"a saved concept cannot use upload({term.index}): uploads exist only in one request")
        if isinstance(term, AxisTerm):
            for pole in (term.a, term.b):
                check_savable(linearize(pole))


class ConceptStore:
    """Concepts of each collection (``collection_id`` is the registry's id)."""

    def __init__(self, sessions: sessionmaker[Session], max_concepts: int = 1_000) -> None:
        self.sessions = sessions
        self.max_concepts = max_concepts

    def get(self, collection_id: str, collection: str, name: str) -> Concept:
        with self.sessions() as s:
            row = s.scalar(select(ConceptRow).where(ConceptRow.collection_id == collection_id, ConceptRow.name == name))
            if row is None:
                raise ConceptNotFound(name, collection)
            return _concept(row)

    def list(self, collection_id: str) -> list[Concept]:
        with self.sessions() as s:
            rows = s.scalars(
                select(ConceptRow).where(ConceptRow.collection_id == collection_id).order_by(ConceptRow.name)
            )
            return [_concept(r) for r in rows]

    def put(
        self, collection_id: str, name: str, expression: str, model: str, description: str = "", actor: str = ""
    ) -> tuple[Concept, bool]:
        """Create or replace a concept; returns it and whether it was created."""
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as s:
            row = s.scalar(select(ConceptRow).where(ConceptRow.collection_id == collection_id, ConceptRow.name == name))
            created = row is None
            if row is None:
                count = s.scalar(select(func.count()).where(ConceptRow.collection_id == collection_id)) or 0
                if count >= self.max_concepts:
                    raise InvalidInput(f"a collection may hold at most {self.max_concepts} concepts")
                row = ConceptRow(collection_id=collection_id, name=name, created_by=actor, created_at=now)
                s.add(row)
            row.expression = expression
            row.description = description
            row.model = model
            row.updated_at = now
            s.flush()
            return _concept(row), created

    def delete(self, collection_id: str, collection: str, name: str) -> None:
        with self.sessions.begin() as s:
            gone = s.execute(
                delete(ConceptRow).where(ConceptRow.collection_id == collection_id, ConceptRow.name == name)
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise ConceptNotFound(name, collection)


def check_templates(templates: Sequence[str], max_templates: int) -> tuple[str, ...]:
    """Validated templates: 1..``max_templates`` distinct strings, each with exactly one ``{}``."""
    if not templates:
        raise InvalidInput('give at least one template, e.g. "a photo of {}" (or DELETE to remove them)')
    if len(templates) > max_templates:
        raise InvalidInput(f"at most {max_templates} templates, got {len(templates)}")
    for i, t in enumerate(templates):
        if t.count("{}") != 1:
            raise InvalidInput(f"templates[{i}] {t!r} must contain '{{}}' exactly once (where the term goes)")
        if len(t) > MAX_TEMPLATE_CHARS:
            raise InvalidInput(f"templates[{i}] is {len(t)} characters, at most {MAX_TEMPLATE_CHARS} are allowed")
    if len(set(templates)) != len(templates):
        raise InvalidInput("templates must be distinct")
    return tuple(templates)


class TemplateStore:
    """Prompt templates per collection, cached in memory for ``TEMPLATE_TTL_S`` seconds."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def get(self, collection_id: str) -> tuple[str, ...]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(collection_id)
        if hit is not None and now - hit[0] < TEMPLATE_TTL_S:
            return hit[1]
        with self.sessions() as s:
            row = s.get(TemplateRow, collection_id)
            templates = tuple(json.loads(row.templates)) if row is not None else ()
        with self._lock:
            self._cache[collection_id] = (now, templates)
        return templates

    def put(self, collection_id: str, templates: tuple[str, ...]) -> None:
        with self.sessions.begin() as s:
            row = s.get(TemplateRow, collection_id)
            if row is None:
                row = TemplateRow(collection_id=collection_id)
                s.add(row)
            row.templates = json.dumps(list(templates))
            row.updated_at = dt.datetime.now(dt.UTC)
        self._forget(collection_id)

    def delete(self, collection_id: str) -> None:
        with self.sessions.begin() as s:
            s.execute(delete(TemplateRow).where(TemplateRow.collection_id == collection_id))
        self._forget(collection_id)

    def _forget(self, collection_id: str) -> None:
        with self._lock:
            self._cache.pop(collection_id, None)
