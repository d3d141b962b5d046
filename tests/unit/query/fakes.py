"""Fakes for query unit tests: a hashing text encoder and an in-memory exact vector store."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence

import numpy as np

from services.core.types import Hit, PointRecord, Vector
from services.encoders.base import Encoder, PixelBatch
from services.vectorstore.base import CollectionSpec, VectorStore
from services.vectorstore.filters import Filter


class HashEncoder(Encoder):
    """Text → a deterministic random unit vector; counts the texts it was asked to encode."""

    model_id = "hash"

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self._dim = dim
        self.encoded: list[str] = []

    def _load(self) -> None:
        return None

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def logit_scale(self) -> float:
        return 100.0

    @property
    def image_size(self) -> int:
        return 8

    def preprocess(self, image: object) -> np.ndarray:
        raise NotImplementedError

    def encode_pixels(self, pixels: PixelBatch) -> Vector:
        raise NotImplementedError

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        self.encoded.extend(texts)
        return np.stack([vec(t, self._dim) for t in texts])


def vec(text: str, dim: int = 16) -> Vector:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


class MemoryStore(VectorStore):
    """Exact numpy search over points held in a dict (filters unsupported). For pure-logic tests only."""

    def __init__(self, points: Sequence[PointRecord] = ()) -> None:
        self.points: dict[str, PointRecord] = {p.id: p for p in points}
        self.searches = 0

    def create_collection(self, spec: CollectionSpec) -> None: ...
    def delete_collection(self, name: str) -> None: ...
    def list_collections(self) -> list[str]:
        return ["c"]

    def collection_exists(self, name: str) -> bool:
        return True

    def count(self, name: str) -> int:
        return len(self.points)

    def upsert(self, name: str, points: Sequence[PointRecord]) -> None:
        self.points.update({p.id: p for p in points})

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]:
        return [self.points[i] for i in ids if i in self.points]

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
        self.searches += 1
        pts = [p for p in self.points.values() if using in p.vectors]
        scored = sorted(pts, key=lambda p: -float(p.vectors[using] @ vector))[offset : offset + limit]
        return [
            Hit(p.id, float(p.vectors[using] @ vector), p.payload, {using: p.vectors[using]} if with_vectors else None)
            for p in scored
        ]

    def scroll(
        self, name: str, limit: int = 256, offset: str | None = None, with_vectors: bool = False
    ) -> tuple[list[PointRecord], str | None]:
        ids = sorted(self.points)
        # As Qdrant does: the page starts at the first id not below ``offset``, a stored id or not.
        start = bisect.bisect_left(ids, offset) if offset else 0
        page = [self.points[i] for i in ids[start : start + limit]]
        nxt = ids[start + limit] if start + limit < len(ids) else None
        return page, nxt

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        for i in ids:
            self.points.pop(i, None)

    def set_payload(self, name: str, point_id: str, payload: dict[str, object]) -> None:
        p = self.points[point_id]
        self.points[point_id] = PointRecord(p.id, p.vectors, {**p.payload, **payload})


def random_points(n: int, dim: int = 16, seed: int = 0, text: bool = True) -> list[PointRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        v = {"image": _unit(rng, dim)}
        if text:
            v["text"] = _unit(rng, dim)
        out.append(PointRecord(f"00000000-0000-0000-0000-{i:012d}", v, {"i": i}))
    return out


def _unit(rng: np.random.Generator, dim: int) -> Vector:
    v = rng.standard_normal(dim)
    return (v / np.linalg.norm(v)).astype(np.float32)
