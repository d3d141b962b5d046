"""Behaviour only the server store has: name prefixes, cluster settings, and HTTP failures."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from qdrant_client import QdrantClient

from services.core.errors import AlreadyExists, CollectionNotFound, InvalidInput, StoreUnavailable
from services.core.types import PointRecord
from services.vectorstore.base import CollectionSpec
from services.vectorstore.server import ServerStore
from tests.unit.vectorstore.conftest import point_uuid


class _RecordingClient(QdrantClient):
    """Local mode that remembers the keyword arguments ``create_collection`` got."""

    created: dict[str, Any]

    def create_collection(self, collection_name: str, **kwargs: Any) -> bool:  # type: ignore[override]
        self.created = kwargs
        return super().create_collection(collection_name, **kwargs)


def test_prefix_isolates_stores_sharing_a_server() -> None:
    client = QdrantClient(":memory:")
    team_a, team_b = ServerStore(client, prefix="a_"), ServerStore(client, prefix="b_")
    team_a.create_collection(CollectionSpec(name="pics", dim=4))
    assert team_a.list_collections() == ["pics"]
    assert team_b.list_collections() == []
    assert not team_b.collection_exists("pics")
    team_b.create_collection(CollectionSpec(name="pics", dim=4))
    assert sorted(c.name for c in client.get_collections().collections) == ["a_pics", "b_pics"]
    team_b.delete_collection("pics")
    assert team_a.collection_exists("pics")


def test_invalid_prefix_rejected() -> None:
    with pytest.raises(InvalidInput):
        ServerStore(QdrantClient(":memory:"), prefix="bad prefix/")


def test_cluster_settings_reach_create_collection() -> None:
    client = _RecordingClient(":memory:")
    ServerStore(client, shard_number=6, replication_factor=2, write_consistency_factor=1).create_collection(
        CollectionSpec(name="pics", dim=4)
    )
    assert client.created["shard_number"] == 6
    assert client.created["replication_factor"] == 2
    assert client.created["write_consistency_factor"] == 1
    vectors = client.created["vectors_config"]
    assert set(vectors) == {"image", "text"}
    assert vectors["image"].size == 4


def test_cluster_settings_default_to_server_defaults() -> None:
    client = _RecordingClient(":memory:")
    ServerStore(client).create_collection(CollectionSpec(name="pics", dim=4))
    assert client.created["shard_number"] is None
    assert client.created["replication_factor"] is None


def test_persistent_local_mode(store_dir: Path) -> None:
    store = ServerStore(QdrantClient(path=str(store_dir / "q")))
    store.create_collection(CollectionSpec(name="pics", dim=4))
    store.upsert("pics", [PointRecord(id=point_uuid(1), vectors={"image": np.array([1, 0, 0, 0], np.float32)})])
    store.close()
    store = ServerStore(QdrantClient(path=str(store_dir / "q")))
    assert store.count("pics") == 1
    store.close()


def test_collection_deleted_behind_our_back_is_not_found() -> None:
    client = QdrantClient(":memory:")
    store = ServerStore(client)
    store.create_collection(CollectionSpec(name="pics", dim=4))
    client.delete_collection("pics")  # another API replica, say
    with pytest.raises(CollectionNotFound):
        store.search("pics", np.ones(4, np.float32))


# --- a fake Qdrant server answering every request with one canned response --------------------------


class _Canned(BaseHTTPRequestHandler):
    status: ClassVar[int] = 503
    body: ClassVar[dict[str, Any]] = {"status": {"error": "service overloaded"}}

    def _answer(self) -> None:
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def fake_server() -> Iterator[tuple[str, type[_Canned]]]:
    handler = type("Handler", (_Canned,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _remote(url: str) -> ServerStore:
    client = QdrantClient(url=url, timeout=5, check_compatibility=False)
    return ServerStore(client, location=f"the Qdrant server at {url}")


def test_server_error_is_store_unavailable(fake_server: tuple[str, type[_Canned]]) -> None:
    url, _ = fake_server
    with pytest.raises(StoreUnavailable, match=r"the Qdrant server at .* failed \(503\): service overloaded"):
        _remote(url).list_collections()


def test_404_collection_is_not_found(fake_server: tuple[str, type[_Canned]]) -> None:
    url, handler = fake_server
    handler.status, handler.body = 404, {"status": {"error": "Not found: Collection `pics` doesn't exist!"}}
    with pytest.raises(CollectionNotFound):
        _remote(url).count("pics")


def test_409_is_already_exists(fake_server: tuple[str, type[_Canned]]) -> None:
    url, handler = fake_server
    handler.status, handler.body = 409, {"status": {"error": "Wrong input: Collection `pics` already exists!"}}
    with pytest.raises(AlreadyExists):
        _remote(url).delete_collection("pics")  # any call; the mapping is what is tested


def test_bad_api_key_names_the_setting(fake_server: tuple[str, type[_Canned]]) -> None:
    url, handler = fake_server
    handler.status, handler.body = 401, {"status": {"error": "Invalid api-key"}}
    with pytest.raises(StoreUnavailable, match="SIGNIFIER_QDRANT_API_KEY"):
        _remote(url).list_collections()


def test_unreachable_server_is_store_unavailable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = _remote(f"http://127.0.0.1:{port}")
    with pytest.raises(StoreUnavailable, match=f"cannot reach the Qdrant server at http://127.0.0.1:{port}"):
        store.collection_exists("pics")
    with pytest.raises(StoreUnavailable):
        store.search("pics", np.ones(4, np.float32))


def test_server_collections_get_the_configured_layout() -> None:
    """Float vectors on disk, int8 copies in RAM, the graph's m from settings, as the server is asked."""
    from services.core.settings import QdrantSettings

    client = _RecordingClient(":memory:")
    store = ServerStore(client, index=QdrantSettings(hnsw_m=24), on_disk_vectors=True)
    store.create_collection(CollectionSpec("laid", 8))
    sent = client.created
    assert all(v.on_disk for v in sent["vectors_config"].values())
    assert sent["hnsw_config"].m == 24
    scalar = sent["quantization_config"].scalar
    assert scalar.type == "int8" and scalar.always_ram
