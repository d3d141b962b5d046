"""Choose the vector store for this process from settings."""

from __future__ import annotations

from services.core.settings import Settings
from services.vectorstore.base import VectorStore
from services.vectorstore.embedded import EmbeddedStore


def build_store(settings: Settings, *, advertise_url: str | None = None) -> VectorStore:
    """A ``ServerStore`` when ``settings.qdrant_url`` is set, else an ``EmbeddedStore`` under ``vectors_dir``.

    ``advertise_url`` (embedded mode): the API this process serves, named in the error another process
    gets when it tries to open the same data directory.
    """
    if settings.qdrant_url:
        # Imported here: qdrant-client costs about a second of CPU to import, and embedded mode never uses it.
        from qdrant_client import QdrantClient

        from services.vectorstore.server import ServerStore

        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=api_key)
        q = settings.qdrant
        return ServerStore(
            client,
            prefix=q.collection_prefix,
            shard_number=q.shard_number,
            replication_factor=q.replication_factor,
            write_consistency_factor=q.write_consistency_factor,
            location=f"the Qdrant server at {settings.qdrant_url}",
            hnsw_ef=q.hnsw_ef,
            hnsw_ef_filtered=q.hnsw_ef_filtered,
            index=q,
            on_disk_vectors=q.on_disk_vectors,
        )
    q = settings.qdrant
    return EmbeddedStore(
        settings.vectors_dir,
        advertise_url=advertise_url,
        hnsw_ef=q.hnsw_ef,
        hnsw_ef_filtered=q.hnsw_ef_filtered,
        index=q,
        optimize_after=q.optimize_after,
    )
