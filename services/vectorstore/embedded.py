"""The embedded store: Qdrant Edge (``qdrant-edge-py``), the real Qdrant engine running in-process.

Layout under ``root``::

    root/.lock                  exclusive process lock (holds the owner's pid)
    root/<name>/collection.json  our spec; written last, so its presence marks a complete collection
    root/<name>/shard…/          one EdgeShard (WAL + segments): ``shard``, or ``shard-<hex>`` once rebuilt

What Qdrant Edge does and does not do for us (qdrant-edge-py 0.9.0, found by experiment):

- Thread safety: an ``EdgeShard`` is internally synchronised, so queries, updates and flushes may be called
  from many threads. They do not overlap, though: a query holds the GIL until it returns (a thread that
  wakes every 0.2 ms ticks once during a 90 ms search; ``bench/scale.py``'s ``gil`` probe), so searches of
  one process take turns, and every other Python thread waits meanwhile. Only closing a shard under a
  running call is unsafe ("Shard is not initialized"), so each collection has a readers-writer lock: every
  call is a reader, closing/deleting/swapping is the writer.
- ``optimize()`` holds the GIL too: run in this process, a build would stop every Python thread
  (every request of the server) for its whole length, minutes at a million points. So the index is built
  in a child process (``edge_build``) on a copy of the shard, and the built copy is swapped in:
  1. writes to the collection wait (searches do not) while the shard is flushed and its directory copied;
  2. the child builds the copy's index; writes made meanwhile go to the live shard and into a log;
  3. the logged writes are replayed into the built copy, the last few with writes held, the spec file is
     pointed at the copy (``"shard"``), and the copy replaces the live shard between two searches.
  A crash at any step leaves the spec naming a complete shard; the directory it does not name is removed
  on the next open. The copy doubles the collection's disk use while a build runs.
- Durability: every update goes to the write-ahead log first, so an acknowledged upsert survives a
  killed process without ``flush()``. Flushing persists segments and keeps the WAL replay on the next
  start short; a background thread flushes dirty shards every ``flush_interval_s`` (as Qdrant server's
  flush worker does), and ``close()`` flushes.
- Indexing: Edge has no background optimizer. New points sit in a plain (brute-force, exact) segment until
  ``optimize()`` builds the index — int8 copies (seconds per 100k points) and, when ``IndexSettings.hnsw_m``
  > 0, an HNSW graph (a minute or more per 100k 512-d points on 2 cores), out of process as above. A build
  starts in the background after ``optimize_after`` new points; ``optimize(name)`` runs one and waits for it.
- A point without a ``text`` vector is accepted and simply never matches a ``text`` search.
- ``MatchValue(True)`` is read as the integer 1 and never matches a boolean payload; ``numpy.bool_``
  is read as a boolean, so booleans are passed that way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from services.core.errors import (
    AlreadyExists,
    CollectionNotFound,
    InvalidInput,
    PointNotFound,
    SignifierError,
    StoreUnavailable,
)
from services.core.settings import IndexSettings
from services.core.types import Hit, PointRecord, Vector
from services.vectorstore.base import (
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
from services.vectorstore.beam import filtered_beam
from services.vectorstore.conversions import edge_filter
from services.vectorstore.filters import Filter

log = logging.getLogger(__name__)

SPEC_FILE = "collection.json"
SHARD_DIR = "shard"
_BUILT_DIR = re.compile(r"shard-[0-9a-f]{8}")  # a shard copy built by ``optimize`` (see the module doc)
_BUILD_MODULE = "services.vectorstore.edge_build"  # the child process that builds an index
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])  # where the child process finds ``services``
LOCK_FILE = ".lock"
_TRASH_PREFIX = ".deleted-"

_INDEXES: tuple[tuple[tuple[str, ...], qe.PayloadSchemaType], ...] = (
    (KEYWORD_FIELDS, qe.PayloadSchemaType.Keyword),
    (INTEGER_FIELDS, qe.PayloadSchemaType.Integer),
    (FLOAT_FIELDS, qe.PayloadSchemaType.Float),
)


class _RWLock:
    """Many readers or one writer; a waiting writer blocks new readers so it cannot starve."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _Collection:
    """One collection's spec, its (lazily opened) shard and bookkeeping for the maintenance thread."""

    def __init__(
        self, spec: CollectionSpec, path: Path, shard: qe.EdgeShard | None = None, shard_dir: str = SHARD_DIR
    ) -> None:
        self.spec = spec
        self.path = path
        self.shard = shard
        self.shard_dir = shard_dir  # the live shard's directory under ``path``
        self.rw = _RWLock()  # every call reads; closing or swapping the shard writes
        self.gate = _RWLock()  # every write reads; a build's copy and swap write (searches don't take it)
        self.load_lock = threading.Lock()  # opening the shard lazily, without holding the registry
        self.deleted = False
        self.dirty = False  # written since the last flush
        self.unindexed = 0  # points written or deleted since the last optimize (an estimate)
        # Writes made since a running build copied the shard, in order, to replay into the built copy.
        self.pending: list[qe.UpdateOperation] | None = None
        self.pending_order = threading.Lock()  # a write and its place in ``pending`` go together
        self.build_lock = threading.Lock()  # one build of this collection at a time
        self.child: subprocess.Popen[str] | None = None  # the running build's process
        self.cancelled = False  # deleted or closing: a running build is abandoned
        self.last_build: dict[str, Any] | None = None  # the last finished build's phases (``build_report``)


class _Abandoned(StoreUnavailable):
    """A build stopped because its collection was deleted or the store closed."""


class EmbeddedStore(VectorStore):
    """Collections as Qdrant Edge shards under ``root``; one process at a time may open ``root``.

    ``flush_interval_s``: how often dirty shards are flushed in the background (0: after every write).
    ``optimize_after``: build the HNSW index in the background once this many points were written
    since the last build (``None``: only when ``optimize()`` is called).
    ``advertise_url``: the API this process serves, named in the error a second opener gets.
    ``hnsw_ef``: candidates HNSW searches keep (higher: better recall, slower); ``None``: Qdrant's default.
    ``hnsw_ef_filtered``: the widest beam a filtered search gets (``None``: ``hnsw_ef``); a filter prunes the
    walk, so each filtered search widens ``hnsw_ef`` by the share of points its filter keeps, as Edge
    estimates it from the payload indexes (``services/vectorstore/beam.py``).
    ``index``: the HNSW/full-scan/quantization layout of collections created from now on (``IndexSettings``).
    Until a segment is indexed, search over it is brute force and exact.
    """

    def __init__(
        self,
        root: Path,
        *,
        flush_interval_s: float = 1.0,
        optimize_after: int | None = 20_000,
        advertise_url: str | None = None,
        hnsw_ef: int | None = None,
        hnsw_ef_filtered: int | None = None,
        index: IndexSettings | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._flush_interval_s = flush_interval_s
        self._optimize_after = optimize_after
        self._index = index or IndexSettings()
        # With int8 copies, scans and graph walks score on them and rescore the best candidates exactly.
        quant = (
            qe.QuantizationSearchParams(rescore=True, oversampling=self._index.oversampling)
            if self._index.quantization == "int8"
            else None
        )
        self._quant = quant
        self._search_params = qe.SearchParams(hnsw_ef=hnsw_ef, quantization=quant) if hnsw_ef or quant else None
        self._hnsw_ef, self._hnsw_ef_filtered = hnsw_ef, hnsw_ef_filtered or hnsw_ef
        ef_f = self._hnsw_ef_filtered
        self._filtered_params = qe.SearchParams(hnsw_ef=ef_f, quantization=quant) if ef_f or quant else None
        self._lock_fd = _acquire_process_lock(self.root, advertise_url)
        # The registry lock guards only the name tables below and is never held during disk work, so
        # creating or deleting one collection does not stall calls on the others.
        self._registry = threading.Lock()
        self._closed = False
        self._busy: set[str] = set()  # names being created or deleted
        try:
            self._collections = self._scan()
        except BaseException:
            _release_process_lock(self._lock_fd)
            raise
        self._stop = threading.Event()
        self._build_slot = threading.Lock()  # one build at a time: each takes a core or two and a shard's RAM
        self._builders: set[threading.Thread] = set()
        self._maintainer: threading.Thread | None = None
        if flush_interval_s > 0 or optimize_after:
            self._maintainer = threading.Thread(target=self._maintain, name="edge-maintenance", daemon=True)
            self._maintainer.start()

    # --- collections ---------------------------------------------------------------------------

    def create_collection(self, spec: CollectionSpec) -> None:
        check_spec(spec)
        with self._registry:
            self._check_open()
            if spec.name in self._collections or spec.name in self._busy:
                raise AlreadyExists(f"collection {spec.name!r} already exists")
            self._busy.add(spec.name)  # reserve the name while the disk work runs unlocked
        col = None
        try:
            path = self.root / spec.name
            _clear_leftover(path)
            with _edge_errors(spec.name):
                shard = qe.EdgeShard.create(str(path / SHARD_DIR), _edge_config(spec, self._index))
                try:
                    for fields, schema in _INDEXES:
                        for field in fields:
                            shard.update(qe.UpdateOperation.create_field_index(field, schema))
                    shard.flush()
                    # The spec file goes last: a directory without it is an unfinished creation.
                    _write_json(path / SPEC_FILE, _spec_meta(spec, SHARD_DIR))
                except BaseException:
                    shard.close()
                    shutil.rmtree(path, ignore_errors=True)
                    raise
            col = _Collection(spec, path, shard)
        finally:
            with self._registry:
                self._busy.discard(spec.name)
                if col is not None and not self._closed:
                    self._collections[spec.name] = col
                    col = None
            if col is not None and col.shard is not None:  # the store was closed meanwhile
                col.shard.close()

    def delete_collection(self, name: str) -> None:
        check_collection_name(name)
        with self._registry:
            self._check_open()
            col = self._collections.get(name)
        if col is None:
            raise CollectionNotFound(name)
        _cancel_build(col)
        # Wait for calls in flight before closing the shard under them.
        with col.rw.write(), col.load_lock:
            with self._registry:
                if col.deleted or self._collections.get(name) is not col:
                    raise CollectionNotFound(name)
                del self._collections[name]
                self._busy.add(name)  # the directory is still there until renamed
                col.deleted = True
            try:
                if col.shard is not None:
                    col.shard.close()
                    col.shard = None
                # Rename first: a crash during the slow rmtree must not leave a half-deleted collection.
                trash = self.root / f"{_TRASH_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
                os.replace(col.path, trash)
            finally:
                with self._registry:
                    self._busy.discard(name)
        shutil.rmtree(trash, ignore_errors=True)

    def list_collections(self) -> list[str]:
        with self._registry:
            self._check_open()
            return sorted(self._collections)

    def collection_exists(self, name: str) -> bool:
        with self._registry:
            self._check_open()
            return name in self._collections

    def count(self, name: str) -> int:
        with self._use(name) as (_, shard):
            return shard.count(qe.CountRequest(exact=True))

    def optimize(self, name: str) -> None:
        """Build the index over points written since the last build, and wait for it (seconds per 10k points).

        The build runs in a child process on a copy of the shard (see the module doc): searches and writes on
        this collection, and everything else in this process, go on meanwhile. A call that finds a build
        running waits for it, and returns if nothing was written since (copying the shard again is costly).
        """
        col = self._lookup(name)
        waited = col.build_lock.locked()
        with col.build_lock:
            if waited and col.last_build is not None and col.unindexed == 0:
                return
            self._build(col)

    def build_report(self, name: str) -> dict[str, Any] | None:
        """The last finished build of ``name``: ``copy_s`` (writes waited), the child's ``build_s`` and
        ``peak_rss_mb``, ``replayed_writes``, ``swap_s`` and ``total_s``; None before the first."""
        return self._lookup(name).last_build

    # --- points --------------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[PointRecord]) -> None:
        with self._use(name, write=True) as (col, shard):
            if not points:
                return
            batch = []
            for p in points:
                pid, vectors = check_point(p, col.spec)
                batch.append(qe.Point(pid, {k: v.tolist() for k, v in vectors.items()}, dict(p.payload)))
            self._apply(col, shard, qe.UpdateOperation.upsert_points(batch))
            self._written(col, shard, len(batch))

    def retrieve(self, name: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointRecord]:
        with self._use(name) as (_, shard):
            # A malformed id cannot name a stored point: it is "unknown", so it is left out.
            wanted = [pid for pid in (parse_point_id(i) for i in ids) if pid is not None]
            if not wanted:
                return []
            found = {str(r.id): r for r in shard.retrieve(list(dict.fromkeys(wanted)), True, with_vectors)}
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
        with self._use(name) as (col, shard):
            query = check_search(col.spec, vector, using, limit, offset)
            flt = edge_filter(filter)
            params = self._params(flt, shard)
            scored = shard.query(self._nearest(query, using, limit, offset, flt, params, with_vectors))
        return hits_from(scored, with_vectors)

    def search_many(
        self,
        name: str,
        vectors: Sequence[Vector],
        using: str = "image",
        limit: int = 10,
        filter: Filter | None = None,
        with_vectors: bool = False,
    ) -> list[list[Hit]]:
        """One ``query_batch``: Edge plans the searches together (one pass over the segments). Two searches on
        two threads would not overlap: each Edge query holds the GIL until it returns."""
        with self._use(name) as (col, shard):
            queries = [check_search(col.spec, v, using, limit, 0) for v in vectors]
            if not queries:
                return []
            flt = edge_filter(filter)
            params = self._params(flt, shard)
            requests = [self._nearest(q, using, limit, 0, flt, params, with_vectors) for q in queries]
            batch = qe.QueryBatchRequest(requests)
            results = shard.query_batch(batch)
        return [hits_from(scored, with_vectors) for scored in results]

    @staticmethod
    def _nearest(
        query: Vector,
        using: str,
        limit: int,
        offset: int,
        flt: qe.Filter | None,
        params: qe.SearchParams | None,
        with_vectors: bool,
    ) -> qe.QueryRequest:
        """The kNN request of ``search`` and ``search_many`` (``query`` already checked)."""
        return qe.QueryRequest(
            limit=limit,
            offset=offset,
            query=qe.Query.Nearest(query.tolist(), using=using),
            filter=flt,
            with_payload=True,
            with_vector=[using] if with_vectors else False,
            params=params,
        )

    def _params(self, flt: qe.Filter | None, shard: qe.EdgeShard) -> qe.SearchParams | None:
        """The search parameters for a filter (``edge_filter``'s; ``None`` or an empty filter: none): the
        beam widened by the share of points the filter keeps, as Edge estimates it (two cardinality
        estimates from the payload indexes, ~0.03 ms each at 1M points)."""
        if flt is None:
            return self._search_params
        if self._hnsw_ef is None or self._hnsw_ef_filtered is None:
            return self._filtered_params
        total = shard.count(qe.CountRequest(exact=False))
        kept = shard.count(qe.CountRequest(exact=False, filter=flt))
        share = min(1.0, kept / total) if total else 1.0
        ef = filtered_beam(share, self._hnsw_ef, self._hnsw_ef_filtered)
        return qe.SearchParams(hnsw_ef=ef, quantization=self._quant)

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
        with self._use(name) as (col, shard):
            query = check_mmr(col.spec, vector, using, limit, candidates, relevance)
            flt = edge_filter(filter)
            # Edge's ``lambda_`` is the weight of relevance (checked against a numpy MMR in the tests).
            request = qe.QueryRequest(
                limit=limit,
                query=qe.Mmr(query.tolist(), relevance, candidates, using=using),
                filter=flt,
                with_payload=True,
                with_vector=[using] if with_vectors else False,
                params=self._params(flt, shard),
            )
            scored = shard.query(request)
        return hits_from(scored, with_vectors)

    def neighbours(
        self, name: str, vectors: Vector, using: str = "image", threshold: float = 0.0, limit: int = 64
    ) -> list[list[tuple[str, float]]]:
        with self._use(name) as (col, shard):
            rows = check_neighbours(col.spec, vectors, using, limit)
            if not rows:
                return []
            batch = qe.QueryBatchRequest(
                [
                    qe.QueryRequest(
                        limit=limit,
                        query=qe.Query.Nearest(r, using=using),
                        with_payload=False,
                        with_vector=False,
                        score_threshold=threshold,
                        params=self._search_params,
                    )
                    for r in rows
                ]
            )
            found = shard.query_batch(batch)
        return [[(str(p.id), float(p.score)) for p in hits] for hits in found]

    def scroll(
        self, name: str, limit: int = 256, offset: str | None = None, with_vectors: bool = False
    ) -> tuple[list[PointRecord], str | None]:
        with self._use(name) as (_, shard):
            if limit < 1:
                raise InvalidInput(f"limit must be at least 1, got {limit}")
            start = None if offset is None else check_point_id(offset)
            records, next_id = shard.scroll(
                qe.ScrollRequest(offset=start, limit=limit, with_payload=True, with_vector=with_vectors)
            )
        return [record_from(r, with_vectors) for r in records], (None if next_id is None else str(next_id))

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        with self._use(name, write=True) as (col, shard):
            doomed = [pid for pid in (parse_point_id(i) for i in ids) if pid is not None]
            if doomed:
                unique: list[int | uuid.UUID | str] = list(dict.fromkeys(doomed))
                self._apply(col, shard, qe.UpdateOperation.delete_points(unique))
                # Deletions count toward optimize_after too: the build is also what vacuums deleted points
                # out of the segments, so a mostly deleted collection does not keep its dead weight.
                self._written(col, shard, len(unique))

    def set_payload(self, name: str, point_id: str, payload: dict[str, object]) -> None:
        with self._use(name, write=True) as (col, shard):
            check_payload(payload, "payload")
            pid = parse_point_id(point_id)
            # Edge reports a missing point as a bare Exception; check first to raise the typed error.
            if pid is None or not shard.retrieve([pid], False, False):
                raise PointNotFound(str(point_id), name)
            self._apply(col, shard, qe.UpdateOperation.set_payload([pid], dict(payload)))
            self._written(col, shard, 0)

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Flush and close every shard and release the directory lock. Waits for a running optimize."""
        with self._registry:
            if self._closed:
                return
            self._closed = True
            cols = list(self._collections.values())
        self._stop.set()
        for col in cols:
            _cancel_build(col)
        if self._maintainer is not None:
            self._maintainer.join()
        with self._registry:
            builders = list(self._builders)
        for thread in builders:
            thread.join()
        for col in cols:
            with col.rw.write(), col.load_lock:
                col.deleted = True  # unusable from now on: no lazy re-open
                if col.shard is not None:
                    try:
                        col.shard.flush()
                        col.shard.close()
                    except Exception:  # one bad shard must not keep the others (and the lock) open
                        log.exception("closing collection %r failed", col.spec.name)
                    col.shard = None
        _release_process_lock(self._lock_fd)

    # --- internals -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the embedded store at {self.root} is closed")

    def _lookup(self, name: str) -> _Collection:
        check_collection_name(name)
        with self._registry:
            self._check_open()
            col = self._collections.get(name)
        if col is None:
            raise CollectionNotFound(name)
        return col

    @contextlib.contextmanager
    def _use(self, name: str, write: bool = False) -> Iterator[tuple[_Collection, qe.EdgeShard]]:
        """The open shard of ``name``, held open (read lock) for the duration of the block.

        ``write``: the block changes points, so it also holds the collection's write gate (which a build
        closes while it copies the shard and swaps the copy in). The gate comes first, as in ``_build``.
        """
        col = self._lookup(name)
        with col.gate.read() if write else contextlib.nullcontext(), self._hold(col) as shard:
            yield col, shard

    @contextlib.contextmanager
    def _hold(self, col: _Collection) -> Iterator[qe.EdgeShard]:
        name = col.spec.name
        with col.load_lock:
            if col.shard is None and not col.deleted:
                col.shard = _edge_call(name, qe.EdgeShard.load, str(col.path / col.shard_dir))
        with col.rw.read():
            shard = col.shard
            if shard is None:  # deleted or closed while we waited
                self._check_open()
                raise CollectionNotFound(name)
            with _edge_errors(name):
                yield shard

    def _apply(self, col: _Collection, shard: qe.EdgeShard, op: qe.UpdateOperation) -> None:
        """Apply a write; while a build runs, log it too, in the order the shard applied it."""
        log = col.pending  # set and cleared only with the gate closed, so fixed for this write
        if log is None:
            shard.update(op)
            return
        with col.pending_order:
            shard.update(op)
            log.append(op)

    # --- index builds (see the module doc) -------------------------------------------------------

    def _build(self, col: _Collection) -> None:
        """Build ``col``'s index on a copy of its shard in a child process, then swap the copy in."""
        name = col.spec.name
        new_dir = f"{SHARD_DIR}-{uuid.uuid4().hex[:8]}"
        new_path = col.path / new_dir
        with self._build_slot:
            fresh: qe.EdgeShard | None = None
            try:
                t0 = time.perf_counter()
                with col.gate.write():  # 1. a consistent copy; searches go on
                    with self._hold(col) as shard:
                        shard.flush()
                        shutil.copytree(col.path / col.shard_dir, new_path)
                    col.unindexed = 0
                    col.pending = []
                report: dict[str, Any] = {"copy_s": round(time.perf_counter() - t0, 3)}  # writes waited this long
                report.update(self._run_build(col, new_path))  # 2. the build, in a child process
                fresh = _edge_call(name, qe.EdgeShard.load, str(new_path))
                t1 = time.perf_counter()
                report["replayed_writes"] = self._swap(col, fresh, new_dir)  # 3. catch up and swap
                fresh = None
                report["swap_s"] = round(time.perf_counter() - t1, 3)
                report["total_s"] = round(time.perf_counter() - t0, 3)
                col.last_build = report
                log.info("collection %r: index built out of process: %s", name, report)
            except BaseException:
                col.pending = None
                if fresh is not None:
                    fresh.close()
                shutil.rmtree(new_path, ignore_errors=True)
                if col.deleted and not self._closed:
                    raise CollectionNotFound(name) from None
                raise

    def _run_build(self, col: _Collection, path: Path) -> dict[str, Any]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", _BUILD_MODULE, str(path)]
        if col.cancelled or self._stop.is_set():
            raise _Abandoned(f"the build of collection {col.spec.name!r} was abandoned")
        col.child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            if col.cancelled or self._stop.is_set():  # cancelled while it started
                col.child.terminate()
            out, err = col.child.communicate()
            code = col.child.returncode
        finally:
            col.child = None
        if col.cancelled or self._stop.is_set():
            raise _Abandoned(f"the build of collection {col.spec.name!r} was abandoned")
        if code != 0:
            raise StoreUnavailable(
                f"building the index of collection {col.spec.name!r} failed (exit {code}): {err.strip()[-800:]}"
            )
        try:
            stats: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            stats = {}
        return stats

    def _swap(self, col: _Collection, fresh: qe.EdgeShard, new_dir: str) -> int:
        name = col.spec.name
        done = 0
        for _ in range(3):  # replay most of the writes made during the build without holding writers up
            log = col.pending
            assert log is not None
            upto = len(log)
            if upto - done <= 256:
                break
            with _edge_errors(name):
                for op in log[done:upto]:
                    fresh.update(op)
            done = upto
        with col.gate.write():
            log = col.pending
            assert log is not None
            with _edge_errors(name):
                for op in log[done:]:
                    fresh.update(op)
                fresh.flush()
            with col.rw.write():  # waits for the searches in flight (milliseconds)
                if col.deleted or self._stop.is_set():
                    raise _Abandoned(f"the build of collection {name!r} was abandoned")
                # From here the copy is the collection: it has every acknowledged write.
                _write_json(col.path / SPEC_FILE, _spec_meta(col.spec, new_dir))
                old, old_dir = col.shard, col.shard_dir
                col.shard, col.shard_dir, col.pending = fresh, new_dir, None
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        shutil.rmtree(col.path / old_dir, ignore_errors=True)
        return len(log)

    def _build_in_background(self, col: _Collection) -> None:
        def run() -> None:
            try:
                with col.build_lock:
                    self._build(col)
            except (_Abandoned, CollectionNotFound):
                pass
            except Exception:
                log.exception("building the index of collection %r failed", col.spec.name)
            finally:
                with self._registry:
                    self._builders.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=f"edge-build-{col.spec.name}", daemon=True)
        with self._registry:
            if self._closed:
                return
            self._builders.add(thread)
        thread.start()

    def _written(self, col: _Collection, shard: qe.EdgeShard, points: int) -> None:
        col.unindexed += points
        if self._flush_interval_s <= 0:
            shard.flush()
        else:
            col.dirty = True

    def _scan(self) -> dict[str, _Collection]:
        """Find the collections under root (shards open lazily, on first use)."""
        found: dict[str, _Collection] = {}
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(_TRASH_PREFIX):
                shutil.rmtree(path, ignore_errors=True)  # a delete interrupted after its rename
                continue
            spec_path = path / SPEC_FILE
            if not spec_path.is_file():
                continue
            try:
                meta = json.loads(spec_path.read_text())
                spec = CollectionSpec(name=path.name, dim=int(meta["dim"]), vectors=tuple(meta["vectors"]))
                shard_dir = str(meta.get("shard", SHARD_DIR))
                if shard_dir != SHARD_DIR and not _BUILT_DIR.fullmatch(shard_dir):
                    raise ValueError(f"bad shard directory {shard_dir!r}")
            except (OSError, ValueError, KeyError, TypeError):
                log.error("ignoring %s: unreadable collection spec", spec_path, exc_info=True)
                continue
            for entry in path.iterdir():  # a build that did not finish, or the shard a finished one replaced
                if entry.name != shard_dir and (entry.name == SHARD_DIR or _BUILT_DIR.fullmatch(entry.name)):
                    shutil.rmtree(entry, ignore_errors=True)
            found[spec.name] = _Collection(spec, path, shard_dir=shard_dir)
        return found

    def _maintain(self) -> None:
        """Background: flush dirty shards; build the HNSW index once enough points have arrived."""
        interval = self._flush_interval_s if self._flush_interval_s > 0 else 1.0
        while not self._stop.wait(interval):
            with self._registry:
                cols = [c for c in self._collections.values() if c.shard is not None]
            for col in cols:
                try:
                    with col.rw.read():
                        if col.shard is None:
                            continue
                        if col.dirty:
                            col.dirty = False  # cleared first: a write racing the flush marks it again
                            col.shard.flush()
                        if (
                            self._optimize_after
                            and col.unindexed >= self._optimize_after
                            and not col.build_lock.locked()
                        ):
                            col.unindexed = 0
                            self._build_in_background(col)
                except Exception:
                    log.exception("maintenance of collection %r failed", col.spec.name)


# --- Edge configuration ---------------------------------------------------------------------------


def _edge_config(spec: CollectionSpec, index: IndexSettings) -> qe.EdgeConfig:
    quant = (
        qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, always_ram=True)
        if index.quantization == "int8"
        else None
    )
    return qe.EdgeConfig(
        vectors={v: qe.EdgeVectorParams(size=spec.dim, distance=qe.Distance.Cosine) for v in spec.vectors},
        hnsw_config=qe.HnswIndexConfig(
            m=index.hnsw_m, ef_construct=index.hnsw_ef_construct, full_scan_threshold=index.full_scan_kb
        ),
        quantization_config=quant,
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=index.indexing_kb) if index.indexing_kb else None,
        max_search_threads=index.search_threads,
    )


@contextlib.contextmanager
def _edge_errors(name: str) -> Iterator[None]:
    """Turn the engine's own failures (plain ``Exception``/``RuntimeError``/``OSError``) into StoreUnavailable.

    Inputs are validated before they reach Edge, so anything else (a TypeError, say) is a bug and propagates.
    """
    try:
        yield
    except SignifierError:
        raise
    except Exception as exc:
        if type(exc) is Exception or isinstance(exc, RuntimeError | OSError):
            raise StoreUnavailable(f"embedded store failed on collection {name!r}: {exc}") from exc
        raise


def _edge_call(name: str, fn: Any, *args: Any) -> Any:
    with _edge_errors(name):
        return fn(*args)


def _cancel_build(col: _Collection) -> None:
    """Abandon ``col``'s running build, if any (the collection is being deleted or the store closed)."""
    col.cancelled = True
    child = col.child
    if child is not None:
        with contextlib.suppress(OSError):
            child.terminate()


# --- files -----------------------------------------------------------------------------------------


def _spec_meta(spec: CollectionSpec, shard_dir: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": spec.name, "dim": spec.dim, "vectors": list(spec.vectors)}
    if shard_dir != SHARD_DIR:
        meta["shard"] = shard_dir
    return meta


def _write_json(path: Path, obj: object) -> None:
    """Write atomically (temp file, fsync, rename): a reader sees the old file or the whole new one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _clear_leftover(path: Path) -> None:
    """Remove what a creation that crashed before writing its spec file left behind; refuse anything else."""
    if not path.exists():
        return
    if (path / SPEC_FILE).exists() or not set(os.listdir(path)) <= {SHARD_DIR, SPEC_FILE + ".tmp"}:
        raise StoreUnavailable(f"{path} exists and is not an unfinished collection; move it away")
    shutil.rmtree(path)


def _acquire_process_lock(root: Path, advertise_url: str | None) -> int:
    """Take ``root/.lock`` exclusively (non-blocking) and write our pid into it; the OS drops it when we die."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_holder(fd)
        os.close(fd)
        pid = holder.get("pid", "unknown")
        if pid == os.getpid():
            raise StoreUnavailable(
                f"the embedded store at {root} is already open in this process (pid {pid}); close it first"
            ) from exc
        api = holder.get("api")
        hint = f"use the API at {api}" if api else "use that process's API, or set SIGNIFIER_QDRANT_URL"
        raise StoreUnavailable(
            f"the embedded store at {root} is in use by another process (pid {pid}); stop it or {hint}"
        ) from exc
    # Truncate only once the lock is ours: a failed opener must not wipe the holder's pid.
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "api": advertise_url}).encode(), 0)
    return fd


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _release_process_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
