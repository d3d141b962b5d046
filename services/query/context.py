"""The query service's per-process parts (concepts, templates, modality means), and the
one place that builds a ``Resolver`` for a request.

They hang off the ``Runtime`` (built once, on first use, so the runtime module needs no knowledge of
them); their tables are created on first use if no migration made them yet.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.catalog.collections import CollectionInfo
from services.core.errors import InvalidInput
from services.core.types import Vector
from services.query.concepts import ConceptStore, TemplateStore
from services.query.modality import ModalityMeans, centring
from services.query.models import ensure_tables
from services.query.resolve import Resolver
from services.query.search import parse_expression

if TYPE_CHECKING:
    from services.runtime import Runtime

_ATTR = "_query_services"
_lock = threading.Lock()


@dataclass
class QueryServices:
    concepts: ConceptStore
    templates: TemplateStore
    means: ModalityMeans


def query_services(runtime: Runtime) -> QueryServices:
    """The runtime's query services, built on first use."""
    qs: QueryServices | None = getattr(runtime, _ATTR, None)
    if qs is not None:
        return qs
    with _lock:
        qs = getattr(runtime, _ATTR, None)
        if qs is None:
            ensure_tables(runtime.sessions.kw["bind"])
            limits = runtime.settings.limits
            qs = QueryServices(
                concepts=ConceptStore(runtime.sessions, limits.max_concepts),
                templates=TemplateStore(runtime.sessions),
                means=ModalityMeans(runtime.sessions, limits.max_scan_points),
            )
            setattr(runtime, _ATTR, qs)
    return qs


def build_resolver(
    runtime: Runtime,
    info: CollectionInfo,
    upload_vectors: Vector | None = None,
    *,
    center: bool = False,
    templates: bool = True,
    using: str = "image",
) -> Resolver:
    """A resolver for one request on collection ``info``: concepts resolve, templates apply (unless
    ``templates=False``), and with ``center`` leaf terms are centred on the collection's modality means
    and scaled to unit score spread over its ``using`` vectors."""
    qs = query_services(runtime)
    limits = runtime.settings.limits
    model = runtime.encoder.model_id

    def concept_text(name: str) -> str:
        concept = qs.concepts.get(info.id, info.name, name)
        if concept.model != model:
            raise InvalidInput(
                f"concept '@{name}' was saved with model {concept.model!r}, but this server runs {model!r}; "
                "save it again to use it with this model"
            )
        return concept.expression

    centre = None
    if center:
        centre = centring(qs.means.get(runtime.store, info.id, info.store_name, info.name), using, info.name)
    return Resolver(
        runtime.encoder,
        runtime.text_cache,
        runtime.store,
        info.store_name,
        upload_vectors,
        concepts=concept_text,
        parse=lambda text: parse_expression(text, limits),
        templates=qs.templates.get(info.id) if templates else (),
        centring=centre,
        label=info.name,
    )
