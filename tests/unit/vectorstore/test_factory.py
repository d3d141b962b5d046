"""``build_store`` picks the backend from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import qdrant_client
from qdrant_client import QdrantClient

from services.core.settings import Settings
from services.vectorstore import factory
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.server import ServerStore


def test_embedded_by_default(store_dir: Path) -> None:
    store = factory.build_store(Settings(data_dir=store_dir))
    assert isinstance(store, EmbeddedStore)
    assert store.root == store_dir / "collections"
    assert (store_dir / "collections" / ".lock").exists()
    store.close()


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_server_when_url_set(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def client(**kwargs: Any) -> QdrantClient:
        seen.update(kwargs)
        # The real client checks the server's version from a background thread; nobody listens here.
        return QdrantClient(check_compatibility=False, **kwargs)

    monkeypatch.setattr(qdrant_client, "QdrantClient", client)  # build_store imports it when it needs it
    settings = Settings(data_dir=store_dir, qdrant_url="http://127.0.0.1:1", qdrant_api_key="secret")  # type: ignore[arg-type]
    store = factory.build_store(settings)
    assert isinstance(store, ServerStore)
    assert seen == {"url": "http://127.0.0.1:1", "api_key": "secret"}
    assert not (store_dir / "collections").exists()
    store.close()
