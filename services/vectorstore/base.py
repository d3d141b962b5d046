"""The one interface every vector store implements (embedded Qdrant Edge, Qdrant server)."""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import Hit, PointRecord, Vector
from services.vectorstore.filters import Filter

# Payload fields indexed in every collection, so filters on them stay fast.
KEYWORD_FIELDS: tuple[str, ...] = ("source", "content_hash", "alt_text_truncated", "labels")
INTEGER_FIELDS: tuple[str, ...] = ("width", "height")
FLOAT_FIELDS: tuple[str, ...] = ("ingested_at",)


@dataclass(frozen=True)
class CollectionSpec:
    """A collection: named vectors ``image`` and ``text`` of size ``dim``, cosine distance."""

    name: str
    dim: int
    vectors: tuple[str, ...] = ("image", "text")


class VectorStore(ABC):
    """Vectors and payload per collection. Every vector handed in is unit-norm float32.

    Scores returned by ``search`` are cosine similarities in [-1, 1]. Point ids are strings
    (UUIDs derived from content). A point may lack the ``text`` vector (no alt-text);
    text-vector searches then simply never return it.
    """

    @abstractmethod
    def create_collection(self, spec: CollectionSpec) -> None:
        """Create a collection; raises ``AlreadyExists`` if it exists."""

    @abstractmethod
    def delete_collection(self, name: str) -> None:
        """Delete a collection and all its points; raises ``CollectionNotFound``."""

    @abstractmethod
    def list_collections(self) -> list[str]: ...

    @abstractmethod
    def collection_exists(self, name: str) -> bool: ...

    @abstractmethod
    def count(self, name: str) -> int:
        """Number of points stored in the collection."""

    @abstractmethod
    def upsert(self, name: str, points: Sequence[PointRecord]) -> None:
        """Insert or replace points by id (idempotent)."""

    @abstractmethod
    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]:
        """Points by id, in the order asked; unknown ids are left out (callers decide if that is an error)."""

    @abstractmethod
    def search(
        self,
        name: str,
        vector: Vector,
        using: str = "image",
        limit: int = 10,
        offset: int = 0,
        filter: Filter | None = None,
        with_vectors: bool = False,
    ) -> list[Hit]:
        """Nearest neighbours of ``vector`` over the named vector ``using``, best first.

        ``with_vectors``: each hit carries its ``using`` vector (only that one: a hit's other vectors would
        double what crosses from the engine, and no caller of a search reads them)."""

    def search_many(
        self,
        name: str,
        vectors: Sequence[Vector],
        using: str = "image",
        limit: int = 10,
        filter: Filter | None = None,
        with_vectors: bool = False,
    ) -> list[list[Hit]]:
        """``search`` for each of ``vectors`` with the same settings, in order (an opposition's two poles).

        This default runs them one after another; the embedded store sends them to Edge as one planned batch
        and a Qdrant server gets one batch request."""
        return [self.search(name, v, using, limit, 0, filter, with_vectors) for v in vectors]

    def search_mmr(
        self,
        name: str,
        vector: Vector,
        using: str = "image",
        limit: int = 10,
        candidates: int = 100,
        relevance: float = 0.5,
        filter: Filter | None = None,
        with_vectors: bool = False,
    ) -> list[Hit]:
        """Maximal marginal relevance over the ``candidates`` nearest neighbours: ``limit`` of them, each pick
        maximising ``relevance · cos(q, x) − (1 − relevance) · max cos(x, picked)``; ``score`` stays the
        cosine to ``vector``. Qdrant computes it (Edge and server alike); a store without it says so."""
        raise InvalidInput(f"this vector store ({type(self).__name__}) offers no MMR search")

    def neighbours(
        self, name: str, vectors: Vector, using: str = "image", threshold: float = 0.0, limit: int = 64
    ) -> list[list[tuple[str, float]]]:
        """For each row of ``vectors`` (m, d): up to ``limit`` points whose ``using`` vector has cosine ≥
        ``threshold`` with it, best first, as (id, score), no payload. As exact as the backend's ``search``.

        This default asks ``search`` once per row; backends override it with one batched request."""
        out = []
        for v in np.asarray(vectors, dtype=np.float32):
            hits = self.search(name, v, using=using, limit=limit)
            out.append([(h.id, h.score) for h in hits if h.score >= threshold])
        return out

    @abstractmethod
    def scroll(
        self, name: str, limit: int = 256, offset: str | None = None, with_vectors: bool = False
    ) -> tuple[list[PointRecord], str | None]:
        """Page through all points: returns a page and the offset of the next page (``None`` at the end)."""

    @abstractmethod
    def delete_points(self, name: str, ids: Sequence[str]) -> None: ...

    @abstractmethod
    def set_payload(self, name: str, point_id: str, payload: dict[str, object]) -> None:
        """Merge keys into one point's payload."""

    def optimize(self, name: str) -> None:  # noqa: B027 - optional hook
        """Bring the collection's search index up to date (blocking). A no-op where the backend does it itself."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""


# --- argument checks shared by every backend, so all of them reject the same inputs the same way ---

COLLECTION_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # fullmatch: "$" would allow a final "\n"


def check_collection_name(name: str) -> str:
    """Return ``name`` if it is a valid collection name (it becomes a directory name), else raise."""
    if not isinstance(name, str) or not COLLECTION_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return name


def parse_point_id(point_id: object) -> str | None:
    """The canonical (lower-case, dashed) form of a UUID point id, or ``None`` if it is not a UUID."""
    if not isinstance(point_id, str):
        return None
    try:
        return str(uuid.UUID(point_id))
    except ValueError:
        return None


def check_point_id(point_id: object) -> str:
    """The canonical form of a UUID point id; raises ``InvalidInput`` for anything else."""
    canonical = parse_point_id(point_id)
    if canonical is None:
        raise InvalidInput(f"invalid point id {point_id!r}: point ids are UUID strings")
    return canonical


def check_vector(vector: object, dim: int, what: str) -> Vector:
    """``vector`` as a finite 1-D float32 array of length ``dim``; raises ``InvalidInput`` otherwise."""
    try:
        arr = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not a numeric vector") from exc
    if arr.shape != (dim,):
        raise InvalidInput(f"{what} must have shape ({dim},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{what} contains NaN or infinite values")
    return arr


def check_point(point: PointRecord, spec: CollectionSpec) -> tuple[str, dict[str, Vector]]:
    """Validate one point against its collection: a UUID id and at least one known vector of the right size."""
    pid = check_point_id(point.id)
    if not point.vectors:
        raise InvalidInput(f"point {point.id!r} has no vectors")
    vectors: dict[str, Vector] = {}
    for vname, vec in point.vectors.items():
        if vname not in spec.vectors:
            raise InvalidInput(
                f"point {point.id!r}: unknown vector {vname!r} (collection {spec.name!r} has {list(spec.vectors)})"
            )
        vectors[vname] = check_vector(vec, spec.dim, f"vector {vname!r} of point {point.id!r}")
    check_payload(point.payload, f"payload of point {point.id!r}")
    return pid, vectors


def check_payload(payload: object, what: str) -> dict[str, object]:
    """``payload`` if it is a JSON object (string keys, no NaN/inf), the only kind every backend stores alike."""
    if not isinstance(payload, dict) or not all(isinstance(k, str) for k in payload):
        raise InvalidInput(f"{what} must be a JSON object with string keys")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from exc
    return payload


def check_search(spec: CollectionSpec, vector: object, using: str, limit: int, offset: int) -> Vector:
    """Validate search arguments; returns the query vector as float32."""
    if using not in spec.vectors:
        raise InvalidInput(f"unknown vector {using!r}: collection {spec.name!r} has {list(spec.vectors)}")
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {limit}")
    if offset < 0:
        raise InvalidInput(f"offset must not be negative, got {offset}")
    return check_vector(vector, spec.dim, "query vector")


def check_neighbours(spec: CollectionSpec, vectors: object, using: str, limit: int) -> list[list[float]]:
    """Validate a batched neighbour search; returns the query rows as lists of floats."""
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim != 2:
        raise InvalidInput(f"neighbour queries must be a 2-D array of rows, got shape {rows.shape}")
    return [check_search(spec, r, using, limit, 0).tolist() for r in rows]


def check_mmr(
    spec: CollectionSpec, vector: object, using: str, limit: int, candidates: int, relevance: float
) -> Vector:
    """Validate MMR search arguments; returns the query vector as float32."""
    query = check_search(spec, vector, using, limit, 0)
    if candidates < limit:
        raise InvalidInput(f"MMR candidates ({candidates}) must be at least the limit ({limit})")
    if not 0.0 <= relevance <= 1.0:
        raise InvalidInput(f"MMR relevance must be in [0, 1], got {relevance}")
    return query


def check_spec(spec: CollectionSpec) -> None:
    """Validate a collection spec before it is created."""
    check_collection_name(spec.name)
    if not isinstance(spec.dim, int) or not 1 <= spec.dim <= 65_536:
        raise InvalidInput(f"vector size must be an integer in [1, 65536], got {spec.dim!r}")
    if not spec.vectors or len(set(spec.vectors)) != len(spec.vectors):
        raise InvalidInput(f"a collection needs distinct vector names, got {spec.vectors!r}")


def vectors_from(raw: Any) -> dict[str, Vector]:
    """Named vectors as either Qdrant client returns them (a dict of lists) → float32 arrays."""
    if not isinstance(raw, dict):
        return {}
    return {str(k): np.asarray(v, dtype=np.float32) for k, v in raw.items()}


def record_from(r: Any, with_vectors: bool) -> PointRecord:
    """A Qdrant record (Edge or qdrant-client: ``id``, ``payload``, ``vector``) → ``PointRecord``."""
    return PointRecord(
        id=str(r.id), vectors=vectors_from(r.vector) if with_vectors else {}, payload=dict(r.payload or {})
    )


def hits_from(scored: Iterable[Any], with_vectors: bool) -> list[Hit]:
    """Qdrant scored points (Edge or qdrant-client) → ``Hit``s, best first as given."""
    return [
        Hit(
            id=str(p.id),
            score=float(p.score),
            payload=dict(p.payload or {}),
            vectors=vectors_from(p.vector) if with_vectors else None,
        )
        for p in scored
    ]
