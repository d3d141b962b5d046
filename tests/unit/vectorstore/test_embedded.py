"""Behaviour only the embedded (Qdrant Edge) store has: files on disk, a process lock, threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from services.core.errors import AlreadyExists, CollectionNotFound, StoreUnavailable
from services.core.types import PointRecord
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.filters import Condition, Filter
from tests.unit.vectorstore.conftest import DataSet, fill

REPO = Path(__file__).resolve().parents[3]


def _open(root: Path, **kwargs: object) -> EmbeddedStore:
    return EmbeddedStore(root, optimize_after=None, **kwargs)  # type: ignore[arg-type]


def _run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_layout_on_disk(store_dir: Path) -> None:
    store = _open(store_dir)
    store.create_collection(CollectionSpec(name="pics", dim=8))
    meta = json.loads((store_dir / "pics" / "collection.json").read_text())
    assert meta == {"name": "pics", "dim": 8, "vectors": ["image", "text"]}
    assert (store_dir / "pics" / "shard").is_dir()
    assert json.loads((store_dir / ".lock").read_text())["pid"] == os.getpid()
    store.delete_collection("pics")
    assert not (store_dir / "pics").exists()
    assert [p.name for p in store_dir.iterdir()] == [".lock"]
    store.close()


def test_data_persists_across_reopen(store_dir: Path, data: DataSet) -> None:
    store = _open(store_dir, flush_interval_s=30)
    fill(store, data)
    store.create_collection(CollectionSpec(name="other", dim=4))
    store.set_payload("pics", data.ids[30], {"note": "kept"})
    store.delete_points("pics", data.ids[:10])
    before = [(h.id, h.score) for h in store.search("pics", data.queries[0], using="text", limit=10)]
    store.close()

    store = _open(store_dir)
    assert store.list_collections() == ["other", "pics"]
    assert store.count("pics") == len(data.ids) - 10
    assert store.retrieve("pics", [data.ids[30]])[0].payload["note"] == "kept"
    after = [(h.id, h.score) for h in store.search("pics", data.queries[0], using="text", limit=10)]
    assert after == before
    flt = Filter(must=(Condition("color", value="red"),))
    assert all(h.payload["color"] == "red" for h in store.search("pics", data.queries[1], filter=flt))
    with pytest.raises(AlreadyExists):
        store.create_collection(CollectionSpec(name="pics", dim=data.dim))
    store.close()


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from tests.unit.vectorstore.conftest import DataSet, fill
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore

data = DataSet(n=300)
store = EmbeddedStore(Path(sys.argv[1]), flush_interval_s=3600, optimize_after=None)  # never flushes itself
store.create_collection(CollectionSpec(name="pics", dim=data.dim))
store.upsert("pics", data.records())
store.delete_points("pics", data.ids[:5])
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no flush: only the write-ahead log has the batch
"""


def test_acknowledged_batch_survives_a_killed_process(store_dir: Path) -> None:
    result = _run_child(_KILLED_WRITER, str(store_dir))
    assert result.returncode == -9, result.stderr
    store = _open(store_dir)  # the dead process's lock is gone with it
    assert store.count("pics") == 295
    data = DataSet(n=300)
    assert store.search("pics", data.image[100], limit=1)[0].id == data.ids[100]
    store.close()


_SECOND_OPENER = """
import sys
from pathlib import Path
from services.core.errors import StoreUnavailable
from services.vectorstore.embedded import EmbeddedStore
try:
    EmbeddedStore(Path(sys.argv[1]))
except StoreUnavailable as exc:
    print(exc.message)
    sys.exit(3)
"""


def test_second_process_is_refused_with_holder_pid(store_dir: Path) -> None:
    store = _open(store_dir, advertise_url="http://127.0.0.1:8000")
    result = _run_child(_SECOND_OPENER, str(store_dir))
    assert result.returncode == 3, result.stderr
    assert f"in use by another process (pid {os.getpid()})" in result.stdout
    assert "use the API at http://127.0.0.1:8000" in result.stdout
    store.close()
    # Once released, another process may open it.
    assert _run_child(_SECOND_OPENER, str(store_dir)).returncode == 0


def test_second_open_in_same_process_is_refused(store_dir: Path) -> None:
    store = _open(store_dir)
    with pytest.raises(StoreUnavailable, match="already open in this process"):
        _open(store_dir)
    store.close()
    _open(store_dir).close()


def test_closed_store_refuses_calls(store_dir: Path) -> None:
    store = _open(store_dir)
    store.create_collection(CollectionSpec(name="c", dim=4))
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreUnavailable):
        store.count("c")


def test_unfinished_creation_is_replaced(store_dir: Path) -> None:
    # A creation that died before writing collection.json leaves a shard dir and no spec.
    (store_dir / "pics" / "shard").mkdir(parents=True)
    store = _open(store_dir)
    assert store.list_collections() == []
    store.create_collection(CollectionSpec(name="pics", dim=4))
    assert store.count("pics") == 0
    store.close()


def test_foreign_directory_is_not_removed(store_dir: Path) -> None:
    (store_dir / "pics").mkdir()
    (store_dir / "pics" / "precious.txt").write_text("mine")
    store = _open(store_dir)
    with pytest.raises(StoreUnavailable, match="move it away"):
        store.create_collection(CollectionSpec(name="pics", dim=4))
    assert (store_dir / "pics" / "precious.txt").exists()
    store.close()


def test_interrupted_delete_is_cleaned_on_start(store_dir: Path) -> None:
    (store_dir / ".deleted-pics-1234abcd" / "shard").mkdir(parents=True)
    _open(store_dir).close()
    assert not (store_dir / ".deleted-pics-1234abcd").exists()


def test_flush_every_write_mode(store_dir: Path, data: DataSet) -> None:
    store = _open(store_dir, flush_interval_s=0)
    fill(store, DataSet(n=50))
    store.close()
    store = _open(store_dir)
    assert store.count("pics") == 50
    store.close()


def test_optimize_keeps_results(store_dir: Path, data: DataSet) -> None:
    store = _open(store_dir)
    fill(store, data)
    before = [h.id for h in store.search("pics", data.queries[0], limit=10)]
    store.optimize("pics")
    assert store.count("pics") == len(data.ids)
    assert [h.id for h in store.search("pics", data.queries[0], limit=10)] == before
    store.close()


def test_background_maintenance_flushes_and_optimizes(store_dir: Path) -> None:
    small = DataSet(n=40)
    store = EmbeddedStore(store_dir, flush_interval_s=0.05, optimize_after=10)
    fill(store, small)
    col = store._collections["pics"]  # the bookkeeping is private; peek to see the thread did its work
    deadline = time.monotonic() + 5
    while (col.dirty or col.unindexed) and time.monotonic() < deadline:
        assert store.search("pics", small.image[5], limit=1)[0].id == small.ids[5]  # reads go on meanwhile
        time.sleep(0.02)
    assert not col.dirty
    assert col.unindexed == 0
    store.close()


def test_concurrent_reads_and_writes_from_threads(store_dir: Path, data: DataSet) -> None:
    store = _open(store_dir, flush_interval_s=0.05)
    fill(store, data)
    errors: list[BaseException] = []
    rng = np.random.default_rng(3)
    extra = DataSet(n=200, seed=99, first_id=10_000)

    def reader(offset: int) -> None:
        try:
            for k in range(40):
                i = (offset + 7 * k) % len(data.ids)
                top = store.search("pics", data.image[i], limit=3)[0]
                assert top.id == data.ids[i]
        except BaseException as exc:
            errors.append(exc)

    def writer() -> None:
        try:
            recs = extra.records()
            for start in range(0, 200, 20):
                store.upsert("pics", recs[start : start + 20])
                store.set_payload("pics", data.ids[int(rng.integers(500))], {"touched": True})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(o,)) for o in range(4)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count("pics") == len(data.ids) + 200
    store.close()


def test_delete_collection_while_searching(store_dir: Path, data: DataSet) -> None:
    store = _open(store_dir)
    fill(store, data)
    unexpected: list[BaseException] = []
    started = threading.Barrier(5)

    def reader() -> None:
        started.wait()
        for _ in range(200):
            try:
                store.search("pics", data.queries[0], limit=5)
            except CollectionNotFound:
                return
            except BaseException as exc:
                unexpected.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    store.delete_collection("pics")
    for t in threads:
        t.join()
    assert unexpected == []
    assert not store.collection_exists("pics")
    store.close()


def test_point_without_text_vector_round_trips(store_dir: Path) -> None:
    store = _open(store_dir)
    store.create_collection(CollectionSpec(name="c", dim=4))
    v = np.array([0.6, 0.8, 0, 0], np.float32)
    store.upsert("c", [PointRecord(id="0b9e1c2a-36c4-4c8e-9d3e-2f6a1b0c9d8e", vectors={"image": v})])
    (rec,) = store.retrieve("c", ["0b9e1c2a-36c4-4c8e-9d3e-2f6a1b0c9d8e"], with_vectors=True)
    assert set(rec.vectors) == {"image"}
    assert store.search("c", v, using="text") == []
    store.close()


def test_concurrent_creates_of_one_name_make_one_collection(store_dir: Path) -> None:
    store = _open(store_dir)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        try:
            store.create_collection(CollectionSpec(name="pics", dim=4))
            outcomes.append("created")
        except AlreadyExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "exists", "exists", "exists"]
    assert store.list_collections() == ["pics"]
    store.close()


def test_first_use_after_reopen_from_many_threads_opens_once(store_dir: Path, data: DataSet) -> None:
    store = _open(store_dir)
    fill(store, data)
    store.close()
    store = _open(store_dir)  # shards open lazily: the threads race to open "pics"
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def first_search() -> None:
        barrier.wait()
        try:
            results.append(store.search("pics", data.image[9], limit=1)[0].id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_search) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [data.ids[9]] * 4
    store.close()


def test_deletions_count_toward_the_background_build(store_dir: Path) -> None:
    """A collection that is mostly deleted gets the build (which vacuums it), as one mostly written does."""
    small = DataSet(n=40)
    store = EmbeddedStore(store_dir, flush_interval_s=0.05, optimize_after=30)
    fill(store, small)  # 40 writes: one build

    def builds_after(first: dict[str, object] | None) -> dict[str, object] | None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            report = store.build_report("pics")
            if report is not None and report is not first and not store._collections["pics"].unindexed:
                return report
            time.sleep(0.05)
        return None

    first = builds_after(None)
    assert first is not None
    store.delete_points("pics", small.ids[:35])  # deletions only
    second = builds_after(first)
    assert second is not None, "deleting 35 points (optimize_after=30) started no build"
    assert store.count("pics") == 5
    assert {h.id for h in store.search("pics", small.image[39], limit=5)} == set(small.ids[35:])
    store.close()
