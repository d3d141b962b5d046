"""The query service of one process: its stores (concepts, templates, modality means), the collaborators
it resolves terms with, and the one place that builds a ``Resolver`` for a request.

``build_runtime`` builds it once and ``Runtime.close`` closes it; routes reach it through
``QueryServicesDep``. It knows nothing of the runtime: it is handed its parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from services.catalog.collections import CollectionInfo
from services.catalog.model_check import ModelGuard
from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.core.types import Vector
from services.encoders.base import Encoder
from services.encoders.cache import TextEmbeddingCache
from services.encoders.decode import decode_base64_image
from services.query.concepts import ConceptStore, TemplateStore
from services.query.filter_keys import KeySamples
from services.query.matrix import VectorMatrices
from services.query.modality import ModalityMeans, centring
from services.query.resolve import Resolver
from services.query.search import parse_expression
from services.vectorstore.base import VectorStore


def check_image_count(n: int, limits: Limits, what: str = "images") -> None:
    if n > limits.max_images_per_request:
        raise InvalidInput(f"at most {limits.max_images_per_request} {what} per request, got {n}")


@dataclass
class QueryServices:
    encoder: Encoder
    text_cache: TextEmbeddingCache
    store: VectorStore
    limits: Limits
    concepts: ConceptStore
    templates: TemplateStore
    means: ModalityMeans
    models: ModelGuard | None = None  # None: collections are not checked against the model (no registry)
    # Collection vectors in memory for whole-collection scoring (the plane, relative scores).
    matrices: VectorMatrices = field(default_factory=lambda: VectorMatrices(300_000))
    # Payload keys sampled per collection, for filter-key warnings (services/query/filter_keys.py).
    filter_keys: KeySamples = field(default_factory=KeySamples)

    def check_model(self, info: CollectionInfo) -> CollectionInfo:
        """``info`` if this encoder's vectors may meet its vectors, else ``ModelMismatch`` (409)."""
        return self.models.check(info) if self.models is not None else info

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        """(n, d) unit text vectors, through the process's text cache."""
        return self.text_cache.get_many(list(texts), self.encoder.encode_texts)

    def encode_uploads(self, uploads: Sequence[str] | None) -> Vector | None:
        """Unit image vectors of base64 uploads (``upload(i)`` is the i-th), or None without uploads."""
        if not uploads:
            return None
        check_image_count(len(uploads), self.limits, "uploads")
        images = [self.decode_base64(u, f"uploads[{i}]") for i, u in enumerate(uploads)]
        return self.encoder.encode_images(images)

    def decode_base64(self, data: str, label: str) -> object:
        """One base64 image, decoded for this encoder under the request limits."""
        limits = self.limits
        return decode_base64_image(
            data, limits.max_upload_bytes, limits.max_image_pixels, label, self.encoder.decode_side
        )

    def resolver(
        self,
        info: CollectionInfo,
        uploads: Sequence[str] | None = None,
        *,
        upload_vectors: Vector | None = None,
        center: bool = False,
        templates: bool = True,
        using: str = "image",
    ) -> Resolver:
        """A resolver for one request on collection ``info``: base64 ``uploads`` (or already encoded
        ``upload_vectors``) become upload(i), concepts resolve, templates apply (unless
        ``templates=False``), and with ``center`` leaf terms are centred on the collection's modality
        means and scaled to unit score spread over its ``using`` vectors.

        Every query that meets the collection's vectors builds one, so the model check is here: a
        collection of another model is ``ModelMismatch`` before anything is encoded."""
        info = self.check_model(info)
        vectors = upload_vectors if upload_vectors is not None else self.encode_uploads(uploads)
        model = self.encoder.model_id
        limits = self.limits

        def concept_text(name: str) -> str:
            concept = self.concepts.get(info.id, info.name, name)
            if concept.model != model:
                raise InvalidInput(
                    f"concept '@{name}' was saved with model {concept.model!r}, but this server runs {model!r}; "
                    "save it again to use it with this model"
                )
            return concept.expression

        centre = None
        if center:
            centre = centring(self.means.get(self.store, info.id, info.store_name, info.name), using, info.name)
        return Resolver(
            self.encoder,
            self.text_cache,
            self.store,
            info.store_name,
            vectors,
            concepts=concept_text,
            parse=lambda text: parse_expression(text, limits),
            templates=self.templates.get(info.id) if templates else (),
            centring=centre,
            label=info.name,
        )


def build_query_services(
    sessions: sessionmaker[Session],
    encoder: Encoder,
    text_cache: TextEmbeddingCache,
    store: VectorStore,
    limits: Limits,
    models: ModelGuard | None = None,
) -> QueryServices:
    """The query service over the database ``sessions`` (its tables come from migration 0004)."""
    return QueryServices(
        encoder=encoder,
        text_cache=text_cache,
        store=store,
        limits=limits,
        concepts=ConceptStore(sessions, limits.max_concepts),
        templates=TemplateStore(sessions),
        means=ModalityMeans(sessions, limits.scan_exact_points),
        models=models,
        matrices=VectorMatrices(limits.max_cached_points),
    )
