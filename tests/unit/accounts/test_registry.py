"""Collections per team over a real store: (team, name) identity, namespaced store names, quotas, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qdrant_client
from qdrant_client import QdrantClient
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.admin import Accounts
from services.accounts.principal import Principal, operator
from services.catalog import collections as registry_mod
from services.catalog.collections import CollectionRegistry
from services.core.errors import AlreadyExists, CollectionNotFound, Forbidden, QuotaExceeded
from services.core.settings import QdrantSettings, QuotaSettings, Settings
from services.core.types import PointRecord
from services.vectorstore import factory
from services.vectorstore.base import COLLECTION_NAME_RE, CollectionSpec
from services.vectorstore.embedded import EmbeddedStore

OP = operator("test")
DIM = 4


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "vectors")
    yield s
    s.close()


def _team(accounts: Accounts, name: str, role: str = "owner", **quota: int) -> Principal:
    accounts.create_team(OP, name, **quota)
    return accounts.keys.resolve(accounts.create_key(OP, role, team=name).key)


def _point(i: int) -> PointRecord:
    v = np.zeros(DIM, np.float32)
    v[i % DIM] = 1.0
    return PointRecord(id=f"00000000-0000-0000-0000-{i:012d}", vectors={"image": v, "text": v}, payload={"i": i})


def test_two_teams_can_both_have_a_collection_of_one_name(
    sessions: sessionmaker[Session], store: EmbeddedStore
) -> None:
    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    acme, globex = _team(accounts, "acme"), _team(accounts, "globex")
    a = reg.create(acme, "photos", "m", DIM)
    g = reg.create(globex, "photos", "m", DIM)
    assert a.name == g.name == "photos" and a.store_name != g.store_name
    for info in (a, g):
        assert info.store_name.startswith("photos-") and COLLECTION_NAME_RE.match(info.store_name)
    store.upsert(a.store_name, [_point(1), _point(2)])
    assert store.count(reg.get(acme, "photos").store_name) == 2
    assert store.count(reg.get(globex, "photos").store_name) == 0
    assert [c.name for c in reg.list_for(acme)] == ["photos"]
    assert reg.points_used(acme.team) == 2 and reg.points_used(globex.team) == 0
    with pytest.raises(AlreadyExists):
        reg.create(acme, "photos", "m", DIM)
    assert sorted(store.list_collections()) == sorted([a.store_name, g.store_name])


def test_another_teams_collection_is_not_found(sessions: sessionmaker[Session], store: EmbeddedStore) -> None:
    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    acme, globex = _team(accounts, "acme"), _team(accounts, "globex")
    reg.create(globex, "secret", "m", DIM)
    with pytest.raises(CollectionNotFound):
        reg.get(acme, "secret")
    with pytest.raises(CollectionNotFound):
        reg.delete(acme, "secret")
    assert reg.list_for(acme) == []
    assert [c.name for c in reg.list_for(globex)] == ["secret"]


def test_roles_for_create_and_delete(sessions: sessionmaker[Session], store: EmbeddedStore) -> None:
    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    owner = _team(accounts, "acme")
    editor = accounts.keys.resolve(accounts.create_key(OP, "editor", team="acme").key)
    viewer = accounts.keys.resolve(accounts.create_key(OP, "viewer", team="acme").key)
    with pytest.raises(Forbidden):
        reg.create(viewer, "v", "m", DIM)
    reg.create(editor, "e", "m", DIM)
    with pytest.raises(Forbidden):
        reg.delete(editor, "e")
    reg.delete(owner, "e")
    assert reg.list_for(owner) == []


def test_delete_is_audited_and_a_new_collection_of_the_old_name_starts_empty(
    sessions: sessionmaker[Session], store: EmbeddedStore
) -> None:
    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    acme = _team(accounts, "acme")
    old = reg.create(acme, "photos", "m", DIM)
    store.upsert(old.store_name, [_point(1)])
    reg.delete(acme, "photos")
    assert not store.collection_exists(old.store_name)
    event = accounts.audit_events(acme, action="collection.delete")[0]
    assert (event.target, event.detail["store_name"], event.actor_key_id) == ("photos", old.store_name, acme.key_id)
    new = reg.create(acme, "photos", "m", DIM)
    assert new.store_name != old.store_name and store.count(new.store_name) == 0


def test_a_store_refusal_leaves_no_registry_row(
    sessions: sessionmaker[Session], store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    acme = _team(accounts, "acme")
    store.create_collection(CollectionSpec(name="photos-taken", dim=DIM))
    monkeypatch.setattr(registry_mod, "store_name_for", lambda name: "photos-taken")
    with pytest.raises(AlreadyExists):
        reg.create(acme, "photos", "m", DIM)
    with pytest.raises(CollectionNotFound):
        reg.get(acme, "photos")


def test_collection_quota(sessions: sessionmaker[Session], store: EmbeddedStore) -> None:
    accounts = Accounts(sessions)
    reg = CollectionRegistry(sessions, store, QuotaSettings(max_collections=2))
    small = _team(accounts, "small", max_collections=1)
    default = _team(accounts, "default")
    reg.create(small, "one", "m", DIM)
    with pytest.raises(QuotaExceeded, match=r"team 'small' has 1 collection\(s\) and its quota is 1"):
        reg.create(small, "two", "m", DIM)
    reg.create(default, "one", "m", DIM)
    reg.create(default, "two", "m", DIM)
    with pytest.raises(QuotaExceeded, match="quota is 2"):
        reg.create(default, "three", "m", DIM)
    assert len(store.list_collections()) == 3  # the refused ones never reached the store


class _RecordingClient(QdrantClient):
    """qdrant-client's local mode, remembering what ``create_collection`` was asked for."""

    created: dict[str, dict[str, Any]]

    def create_collection(self, collection_name: str, **kwargs: Any) -> bool:  # type: ignore[override]
        self.created = {**getattr(self, "created", {}), collection_name: kwargs}
        return super().create_collection(collection_name, **kwargs)


def test_server_mode_collections_get_the_cluster_layout_from_settings(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = _RecordingClient(":memory:")
    monkeypatch.setattr(qdrant_client, "QdrantClient", lambda **_: client)  # build_store imports it on use
    settings = Settings(
        data_dir=tmp_path,
        qdrant_url="http://qdrant:6333",
        qdrant=QdrantSettings(
            shard_number=6, replication_factor=2, write_consistency_factor=1, collection_prefix="sig_"
        ),
    )
    store = factory.build_store(settings)
    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    info = reg.create(_team(accounts, "acme"), "photos", "m", DIM)
    qdrant_name = "sig_" + info.store_name
    assert set(client.created) == {qdrant_name}
    layout = client.created[qdrant_name]
    assert (layout["shard_number"], layout["replication_factor"], layout["write_consistency_factor"]) == (6, 2, 1)
    assert [c.name for c in client.get_collections().collections] == [qdrant_name]
    store.close()


def test_check_model_refuses_another_model_and_adopts_a_legacy_record_by_id(
    sessions: sessionmaker[Session], store: EmbeddedStore
) -> None:
    from sqlalchemy import update

    from services.catalog.models import CollectionRow
    from services.core.errors import ModelMismatch
    from services.encoders.fingerprint import ModelFingerprint

    accounts, reg = Accounts(sessions), CollectionRegistry(sessions, store)
    owner = _team(accounts, "t")
    a = ModelFingerprint("model-a", "clip", DIM, DIM, "fp32", "aaaaaaaaaaaaaaaa")
    b = ModelFingerprint("model-b", "clip", DIM, DIM, "fp32", "bbbbbbbbbbbbbbbb")
    info = reg.create(owner, "c", a.model_id, DIM, a)
    assert (info.digest, info.family, info.precision) == (a.digest, "clip", "fp32")
    assert reg.check_model(info, a) == info
    with pytest.raises(ModelMismatch) as refused:
        reg.check_model(info, b)
    assert refused.value.collection_model["digest"] == a.digest and refused.value.server_model["model_id"] == "model-b"
    assert "SIGNIFIER_MODEL=model-a" in refused.value.message
    retrained = ModelFingerprint("model-a", "clip", DIM, DIM, "fp32", "cccccccccccccccc")
    with pytest.raises(ModelMismatch, match="not the one the collection was built with"):
        reg.check_model(info, retrained)

    with sessions.begin() as s:  # a collection created before fingerprints
        s.execute(update(CollectionRow).values(model_digest=None, model_family=None, model_precision=None))
    legacy = reg.get(owner, "c")
    with pytest.raises(ModelMismatch):
        reg.check_model(legacy, b)
    assert reg.get(owner, "c").digest is None
    adopted = reg.check_model(legacy, retrained)  # same model id and dim: its fingerprint is recorded
    assert reg.get(owner, "c").digest == adopted.digest == retrained.digest
    with pytest.raises(ModelMismatch):
        reg.check_model(reg.get(owner, "c"), a)  # from then on, only that checkpoint
