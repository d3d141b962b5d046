"""The one interface every vector store implements (embedded Qdrant Edge, Qdrant server)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

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
        """Nearest neighbours of ``vector`` over the named vector ``using``, best first."""

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

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""
