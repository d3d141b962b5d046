"""The server store: ``qdrant-client`` against a Qdrant server or cluster (or its local mode in tests).

Works with any ``QdrantClient``: ``QdrantClient(url=..., api_key=...)`` for a server, ``QdrantClient(":memory:")``
or ``QdrantClient(path=...)`` for qdrant-client's local mode (pure Python, brute-force search, payload
indexes ignored). Errors are REST errors: build the client without ``prefer_grpc``.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from services.core.errors import (
    AlreadyExists,
    CollectionNotFound,
    InvalidInput,
    NotFoundError,
    PointNotFound,
    SignifierError,
    StoreUnavailable,
)
from services.core.settings import IndexSettings
from services.core.types import Hit, PointRecord, Vector
from services.vectorstore.base import (
    COLLECTION_NAME_RE,
    FLOAT_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    CollectionSpec,
    VectorStore,
    check_collection_name,
    check_mmr,
    check_neighbours,
    check_payload,
    check_point,
    check_point_id,
    check_search,
    check_spec,
    hits_from,
    parse_point_id,
    record_from,
)
from services.vectorstore.conversions import qdrant_filter
from services.vectorstore.filters import Filter

_INDEXES: tuple[tuple[tuple[str, ...], models.PayloadSchemaType], ...] = (
    (KEYWORD_FIELDS, models.PayloadSchemaType.KEYWORD),
    (INTEGER_FIELDS, models.PayloadSchemaType.INTEGER),
    (FLOAT_FIELDS, models.PayloadSchemaType.FLOAT),
)


class ServerStore(VectorStore):
    """Collections as Qdrant collections named ``prefix + name``.

    ``shard_number``, ``replication_factor`` and ``write_consistency_factor`` are passed to
    ``create_collection`` when given (cluster deployments); ``None`` keeps the server's defaults.
    ``location`` names the server in error messages (e.g. its URL).
    ``hnsw_ef``: candidates HNSW searches keep (higher: better recall, slower); ``None``: the server's default.
    ``hnsw_ef_filtered``: the same for filtered searches (``None``: ``hnsw_ef``); a filter prunes the walk.
    ``index``: the graph (m, ef_construct), int8 copies and their oversampling, as in the embedded store; with
    ``on_disk_vectors`` the float vectors live on disk (memory-mapped) and only the int8 copies (a quarter of
    the size) and the graph stay in RAM: searches walk the int8 copies and read floats only to rescore.
    Payload indexes are created right after the collection, before any point, so graphs get their links.
    """

    def __init__(
        self,
        client: QdrantClient,
        prefix: str = "",
        *,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        write_consistency_factor: int | None = None,
        location: str | None = None,
        hnsw_ef: int | None = None,
        hnsw_ef_filtered: int | None = None,
        index: IndexSettings | None = None,
        on_disk_vectors: bool = False,
    ) -> None:
        if prefix and not COLLECTION_NAME_RE.fullmatch(prefix):
            raise InvalidInput(f"invalid collection prefix {prefix!r}")
        self._client = client
        self._prefix = prefix
        self._cluster = {
            "shard_number": shard_number,
            "replication_factor": replication_factor,
            "write_consistency_factor": write_consistency_factor,
        }
        self._location = location or "the Qdrant server"
        self._index = index
        self._on_disk = on_disk_vectors
        quant = None
        if index is not None and index.quantization == "int8":
            quant = models.QuantizationSearchParams(rescore=True, oversampling=index.oversampling)
        self._search_params = models.SearchParams(hnsw_ef=hnsw_ef, quantization=quant) if hnsw_ef or quant else None
        ef_f = hnsw_ef_filtered or hnsw_ef
        self._filtered_params = models.SearchParams(hnsw_ef=ef_f, quantization=quant) if ef_f or quant else None
        # Specs by name, so each call validates vectors without a round trip; dropped on not-found.
        self._specs: dict[str, CollectionSpec] = {}
        self._specs_lock = threading.Lock()

    # --- collections ---------------------------------------------------------------------------

    def create_collection(self, spec: CollectionSpec) -> None:
        check_spec(spec)
        full = self._full(spec.name)
        with self._errors(spec.name):
            if self._client.collection_exists(full):
                raise AlreadyExists(f"collection {spec.name!r} already exists")
            self._client.create_collection(
                full,
                vectors_config={
                    v: models.VectorParams(size=spec.dim, distance=models.Distance.COSINE, on_disk=self._on_disk)
                    for v in spec.vectors
                },
                **self._layout(),
                shard_number=self._cluster["shard_number"],
                replication_factor=self._cluster["replication_factor"],
                write_consistency_factor=self._cluster["write_consistency_factor"],
            )
            try:
                with warnings.catch_warnings():
                    # Local mode warns that it ignores payload indexes; a server builds them.
                    warnings.filterwarnings("ignore", message="Payload indexes have no effect")
                    for fields, schema in _INDEXES:
                        for field in fields:
                            self._client.create_payload_index(full, field, schema, wait=True)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._client.delete_collection(full)
                raise
        with self._specs_lock:
            self._specs[spec.name] = spec

    def _layout(self) -> dict[str, Any]:
        """The graph and int8 settings of new collections (nothing: the server's defaults)."""
        ix = self._index
        if ix is None:
            return {}
        out: dict[str, Any] = {"hnsw_config": models.HnswConfigDiff(m=ix.hnsw_m, ef_construct=ix.hnsw_ef_construct)}
        if ix.quantization == "int8":
            scalar = models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
            out["quantization_config"] = models.ScalarQuantization(scalar=scalar)
        return out

    def delete_collection(self, name: str) -> None:
        full = self._full(check_collection_name(name))
        with self._errors(name):
            if not self._client.collection_exists(full):
                raise CollectionNotFound(name)
            self._client.delete_collection(full)
        self._forget(name)

    def list_collections(self) -> list[str]:
        with self._errors(None):
            names = [c.name for c in self._client.get_collections().collections]
        n = len(self._prefix)
        return sorted(
            name[n:] for name in names if name.startswith(self._prefix) and COLLECTION_NAME_RE.fullmatch(name[n:])
        )

    def collection_exists(self, name: str) -> bool:
        if not isinstance(name, str) or not COLLECTION_NAME_RE.fullmatch(name):
            return False
        with self._errors(None):
            return self._client.collection_exists(self._full(name))

    def count(self, name: str) -> int:
        full = self._full(check_collection_name(name))
        with self._errors(name):
            return self._client.count(full, exact=True).count

    # --- points --------------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[PointRecord]) -> None:
        spec = self._spec(name)
        batch = []
        for p in points:
            pid, vectors = check_point(p, spec)
            batch.append(
                models.PointStruct(id=pid, vector={k: v.tolist() for k, v in vectors.items()}, payload=dict(p.payload))
            )
        if batch:
            with self._errors(name):
                self._client.upsert(self._full(name), points=batch, wait=True)

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]:
        self._spec(name)
        # A malformed id cannot name a stored point: it is "unknown", so it is left out.
        wanted = [pid for pid in (parse_point_id(i) for i in ids) if pid is not None]
        if not wanted:
            return []
        with self._errors(name):
            records = self._client.retrieve(
                self._full(name), ids=list(dict.fromkeys(wanted)), with_payload=True, with_vectors=with_vectors
            )
        found = {str(r.id): r for r in records}
        return [record_from(found[pid], with_vectors) for pid in wanted if pid in found]

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
        query = check_search(self._spec(name), vector, using, limit, offset)
        with self._errors(name):
            scored = self._client.query_points(
                self._full(name),
                query=query.tolist(),
                using=using,
                limit=limit,
                offset=offset,
                query_filter=qdrant_filter(filter),
                search_params=self._params(filter),
                with_payload=True,
                with_vectors=[using] if with_vectors else False,
            ).points
        return hits_from(scored, with_vectors)

    def _params(self, filter: Filter | None) -> models.SearchParams | None:
        return self._filtered_params if filter is not None and not filter.is_empty() else self._search_params

    def search_many(
        self,
        name: str,
        vectors: Sequence[Vector],
        using: str = "image",
        limit: int = 10,
        filter: Filter | None = None,
        with_vectors: bool = False,
    ) -> list[list[Hit]]:
        spec = self._spec(name)
        queries = [check_search(spec, v, using, limit, 0) for v in vectors]
        if not queries:
            return []
        requests = [
            models.QueryRequest(
                query=q.tolist(),
                using=using,
                limit=limit,
                filter=qdrant_filter(filter),
                params=self._params(filter),
                with_payload=True,
                with_vector=[using] if with_vectors else False,
            )
            for q in queries
        ]
        with self._errors(name):  # one round trip for all of them
            found = self._client.query_batch_points(self._full(name), requests=requests)
        return [hits_from(res.points, with_vectors) for res in found]

    def neighbours(
        self, name: str, vectors: Vector, using: str = "image", threshold: float = 0.0, limit: int = 64
    ) -> list[list[tuple[str, float]]]:
        rows = check_neighbours(self._spec(name), vectors, using, limit)
        if not rows:
            return []
        requests = [
            models.QueryRequest(
                query=r,
                using=using,
                limit=limit,
                score_threshold=threshold,
                params=self._search_params,
                with_payload=False,
                with_vector=False,
            )
            for r in rows
        ]
        with self._errors(name):
            found = self._client.query_batch_points(self._full(name), requests=requests)
        return [[(str(p.id), float(p.score)) for p in res.points] for res in found]

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
        query = check_mmr(self._spec(name), vector, using, limit, candidates, relevance)
        with self._errors(name):
            scored = self._client.query_points(
                self._full(name),
                # Qdrant's ``diversity`` is the weight of dissimilarity: 1 − relevance.
                query=models.NearestQuery(
                    nearest=query.tolist(),
                    mmr=models.Mmr(diversity=1.0 - relevance, candidates_limit=candidates),
                ),
                using=using,
                limit=limit,
                query_filter=qdrant_filter(filter),
                search_params=self._params(filter),
                with_payload=True,
                with_vectors=[using] if with_vectors else False,
            ).points
        return hits_from(scored, with_vectors)

    def scroll(
        self, name: str, limit: int = 256, offset: str | None = None, with_vectors: bool = False
    ) -> tuple[list[PointRecord], str | None]:
        self._spec(name)
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}")
        start = None if offset is None else check_point_id(offset)
        with self._errors(name):
            records, next_id = self._client.scroll(
                self._full(name), limit=limit, offset=start, with_payload=True, with_vectors=with_vectors
            )
        return [record_from(r, with_vectors) for r in records], (None if next_id is None else str(next_id))

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        self._spec(name)
        doomed = [pid for pid in (parse_point_id(i) for i in ids) if pid is not None]
        if doomed:
            with self._errors(name):
                self._client.delete(
                    self._full(name),
                    points_selector=models.PointIdsList(points=list(dict.fromkeys(doomed))),
                    wait=True,
                )

    def set_payload(self, name: str, point_id: str, payload: dict[str, object]) -> None:
        self._spec(name)
        check_payload(payload, "payload")
        pid = parse_point_id(point_id)
        # Servers answer 404 and local mode a KeyError for a missing point; check first, the same everywhere.
        if pid is None or not self.retrieve(name, [pid]):
            raise PointNotFound(str(point_id), name)
        with self._errors(name):
            self._client.set_payload(self._full(name), payload=dict(payload), points=[pid], wait=True)

    def close(self) -> None:
        self._client.close()

    # --- internals -----------------------------------------------------------------------------

    def _full(self, name: str) -> str:
        return self._prefix + name

    def _forget(self, name: str) -> None:
        with self._specs_lock:
            self._specs.pop(name, None)

    def _spec(self, name: str) -> CollectionSpec:
        """The collection's spec (cached); raises ``CollectionNotFound``."""
        check_collection_name(name)
        with self._specs_lock:
            spec = self._specs.get(name)
        if spec is not None:
            return spec
        with self._errors(name):
            info = self._client.get_collection(self._full(name))
        vectors = info.config.params.vectors
        if not isinstance(vectors, dict) or not vectors:
            raise InvalidInput(f"collection {name!r} has no named vectors: it was not created by Signifier")
        sizes = {p.size for p in vectors.values()}
        if len(sizes) != 1:
            raise InvalidInput(f"collection {name!r} mixes vector sizes {sorted(sizes)}")
        spec = CollectionSpec(name=name, dim=sizes.pop(), vectors=tuple(vectors))
        with self._specs_lock:
            self._specs[name] = spec
        return spec

    @contextlib.contextmanager
    def _errors(self, name: str | None) -> Iterator[None]:
        """Translate qdrant-client failures into domain errors with a message a user can act on."""
        where = self._location
        try:
            yield
        except SignifierError:
            raise
        except UnexpectedResponse as exc:
            status = exc.status_code or 0
            detail = _detail(exc)
            if status == 404:
                if name is not None and "ollection" in detail:
                    self._forget(name)
                    raise CollectionNotFound(name) from exc
                raise NotFoundError(detail) from exc
            if status == 409 or "already exists" in detail:
                raise AlreadyExists(f"collection {name!r} already exists") from exc
            if status in (400, 422):
                raise InvalidInput(f"Qdrant rejected the request: {detail}") from exc
            if status in (401, 403):
                raise StoreUnavailable(
                    f"{where} refused the credentials ({status}); check SIGNIFIER_QDRANT_API_KEY"
                ) from exc
            raise StoreUnavailable(f"{where} failed ({status}): {detail}") from exc
        except ResponseHandlingException as exc:
            raise StoreUnavailable(f"cannot reach {where}: {exc.source}") from exc
        except (httpx.TransportError, ConnectionError, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot reach {where}: {exc}") from exc
        except ValueError as exc:
            # Local mode reports problems as ValueError (pydantic's ValidationError is one too).
            msg = str(exc)
            if name is not None and "not found" in msg and "ollection" in msg:
                self._forget(name)
                raise CollectionNotFound(name) from exc
            if "already exists" in msg:
                raise AlreadyExists(f"collection {name!r} already exists") from exc
            raise InvalidInput(msg) from exc


# --- errors ------------------------------------------------------------------------------------------


def _detail(exc: UnexpectedResponse) -> str:
    """The server's own error text (``{"status": {"error": ...}}``), else the raw body."""
    try:
        body = exc.structured()
        status = body.get("status") if isinstance(body, dict) else None
        if isinstance(status, dict) and isinstance(status.get("error"), str):
            return str(status["error"])
    except ValueError:
        pass
    return exc.content[:200].decode(errors="replace") or (exc.reason_phrase or "")
