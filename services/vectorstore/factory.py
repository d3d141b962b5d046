"""Choose the vector store for this process from settings."""

from __future__ import annotations

from qdrant_client import QdrantClient

from services.core.settings import Settings
from services.vectorstore.base import VectorStore
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.server import ServerStore


def build_store(settings: Settings, *, advertise_url: str | None = None) -> VectorStore:
    """A ``ServerStore`` when ``settings.qdrant_url`` is set, else an ``EmbeddedStore`` under ``vectors_dir``.

    ``advertise_url`` (embedded mode): the API this process serves, named in the error another process
    gets when it tries to open the same data directory.
    """
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=api_key)
        return ServerStore(client, location=f"the Qdrant server at {settings.qdrant_url}")
    return EmbeddedStore(settings.vectors_dir, advertise_url=advertise_url)
