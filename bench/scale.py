"""Scale benchmark: CLIP-like vectors, the real REST app on the embedded store's defaults, and peers, in one run.

    .venv/bin/python bench/scale.py                  # 1,000,000 × 512 (hours on 2 cores: the graph builds)
    .venv/bin/python bench/scale.py --n 200000       # the quicker run
    .venv/bin/python bench/scale.py --n 50000 --data uniform --no-peers   # the adversarial case

1. ``bench/clip_like.py`` draws ``n`` image vectors (and their alt texts) and the queries of each kind:
   ``image``, ``text``, ``composite``, ``opposition`` (both poles, through ``/oppositions``), and text queries
   ``filtered`` to 1 %, 10 % and 50 % of the points. Its statistics go into the JSON.
2. Exact answers come from faiss ``IndexFlatIP`` (numpy when faiss is missing), itself a peer.
3. **Ours**: the points go into a fresh embedded collection with the default index settings; the graph is
   built (``build_s``, the process's peak RSS during the build) while another thread keeps searching
   (``during_build`` latency: the build does not block queries). Then every query goes through the real
   FastAPI app (in-process ASGI: JSON, validation, parsing, composition and Qdrant Edge on the clock):
   recall@10 against exact, p50/p95; and throughput (qps, and p50/p95 in ``clients``) of text searches with
   1, 2, 4, 8 and 16 concurrent clients, alone and beside two whole-collection histogram requests (``beside_heavy``).
4. **Peers** on the same vectors and queries, in-process (no HTTP): faiss ``IndexHNSWFlat`` (M=32,
   efConstruction=128) and usearch (connectivity 16, expansion_add 128) swept over ef, and qdrant-client
   local mode on the first ``--local-n`` points (it holds everything in Python and scans it;
   ``--local-only`` runs just that and the exact peer, e.g. ``--local-n 1000000``: ~12 minutes at 1M).

Terms in requests are looked up by a table encoder (``"q:text:7"`` → that query's vector), so no model
runs on the clock. Needs the ``bench`` extra (``pip install -e '.[bench]'``) for the peers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

try:
    from bench.clip_like import QUERY_KINDS, ClipLike, ClipLikeParams
except ModuleNotFoundError:  # run as a script: bench/ itself is on sys.path
    from clip_like import QUERY_KINDS, ClipLike, ClipLikeParams  # type: ignore[no-redef]
from services.core.types import PointRecord, Vector
from services.encoders.base import Encoder, PixelBatch

K = 10
EFS = (256, 384, 512, 768)  # the engine probe's hnsw_ef values
FILTERED_EFS = (384, 640, 1024, 1536)  # and its filtered half's
SELECTIVITY = {"s1": 0.01, "s10": 0.10, "s50": 0.50}
TARGETS = {"recall_at_10": 0.95, "p50_ms": 10.0}


class TableEncoder(Encoder):
    """Texts ``"q:<kind>:<i>"`` → the benchmark's query vectors; no image tower."""

    def __init__(self, dim: int, table: dict[str, Vector]) -> None:
        super().__init__()
        self._dim, self.table = dim, table
        self.model_id = f"bench-table-{dim}"

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
        return 224

    def preprocess(self, image: object) -> np.ndarray:
        raise NotImplementedError("the benchmark encoder has no image tower")

    def encode_pixels(self, pixels: PixelBatch) -> Vector:
        raise NotImplementedError("the benchmark encoder has no image tower")

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        return np.stack([self.table[t] for t in texts]).astype(np.float32)


def point_id(i: int) -> str:
    # Content-hash-like (random order) ids, as ingestion makes them: id order is unrelated to content.
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"bench/{i}"))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def top_k(x: np.ndarray, q: np.ndarray, rows: np.ndarray | None = None) -> list[int]:
    s = (x if rows is None else x[rows]) @ q
    part = np.argpartition(-s, K - 1)[:K]
    best = part[np.argsort(-s[part])]
    return [int(i) for i in (best if rows is None else rows[best])]


def recall(found: Sequence[Any], truth: Sequence[Any]) -> float:
    return len(set(found) & set(truth)) / K


def stats(lat: list[float], rec: list[float] | None = None) -> dict[str, float]:
    ms = np.asarray(lat) * 1e3
    out = {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}
    if rec is not None:
        out["recall_at_10"] = round(float(np.mean(rec)), 4)
    return out


# --- the workload ----------------------------------------------------------------------------------


class Workload:
    """Points, queries of each kind and their exact top 10 (row numbers)."""

    def __init__(self, args: argparse.Namespace) -> None:
        params = ClipLikeParams(dim=args.dim, uniform=args.data == "uniform")
        self.gen = ClipLike(args.n, params, seed=args.seed)
        t0 = time.perf_counter()
        img, txt = [], []
        for _, i, t in self.gen.chunks():
            img.append(i)
            txt.append(t)
        self.x, self.alt = np.concatenate(img), np.concatenate(txt)
        u = np.random.default_rng([args.seed, 9]).random(args.n)
        self.labels = {name: np.flatnonzero(u < f) for name, f in SELECTIVITY.items()}
        self.gen_s = time.perf_counter() - t0
        q = args.queries
        self.queries: dict[str, np.ndarray] = {kind: self.gen.queries(q, kind) for kind in QUERY_KINDS}
        self.poles = self.gen.poles(q)
        self.table: dict[str, Vector] = {}
        for kind, qs in self.queries.items():
            for i, v in enumerate(qs):
                self.table[f"q:{kind}:{i}"] = v
        for i in range(q):
            self.table[f"q:pa:{i}"], self.table[f"q:pb:{i}"] = self.poles[0][i], self.poles[1][i]
        t0 = time.perf_counter()
        self.truth, self.flat = self._exact()
        self.truth_s = time.perf_counter() - t0

    def _exact(self) -> tuple[dict[str, list[list[int]]], dict[str, Any]]:
        truth: dict[str, list[list[int]]] = {}
        flat: dict[str, Any] = {}
        try:
            import faiss

            index = faiss.IndexFlatIP(self.x.shape[1])
            index.add(self.x)
            qs = self.queries["text"]
            t0 = time.perf_counter()
            index.search(qs, K)
            batched = (time.perf_counter() - t0) / len(qs)
            lat = []
            for q in qs[:10]:
                t0 = time.perf_counter()
                index.search(q[None], K)
                lat.append(time.perf_counter() - t0)
            flat = {"batched_ms_per_query": round(batched * 1e3, 3), **stats(lat), "recall_at_10": 1.0}
            for kind, qs in self.queries.items():
                truth[kind] = [list(map(int, r)) for r in index.search(qs, K)[1]]
            truth["opposition_b"] = [list(map(int, r)) for r in index.search(-self.queries["opposition"], K)[1]]
        except ImportError:
            for kind, qs in self.queries.items():
                truth[kind] = [top_k(self.x, q) for q in qs]
            truth["opposition_b"] = [top_k(self.x, -q) for q in self.queries["opposition"]]
        for name, rows in self.labels.items():
            truth[f"filtered_{name}"] = [top_k(self.x, q, rows) for q in self.queries["text"]]
        # /oppositions searches ±(A − B)/‖A − B‖ of the poles it composes: the same axis as "opposition".
        return truth, flat


# --- ours: the REST app over the embedded store ------------------------------------------------------


def run_ours(args: argparse.Namespace, w: Workload, root: Path) -> dict[str, Any]:
    return asyncio.run(_run_ours(args, w, root))


async def _run_ours(args: argparse.Namespace, w: Workload, root: Path) -> dict[str, Any]:
    import httpx

    from services.accounts.principal import LOCAL_OWNER
    from services.api.app import create_app
    from services.core.settings import Limits, QdrantSettings, Settings

    enc = TableEncoder(args.dim, w.table)
    q = QdrantSettings(optimize_after=None)  # the defaults; the build is started below, on the clock
    settings = Settings(
        data_dir=root / "ours",
        model=enc.model_id,
        device="cpu",
        qdrant=q,
        qdrant_url=None,
        redis_url=None,
        database_url=None,
        auth="local",
        limits=Limits(max_limit=1_000, request_seconds=300),
    )
    out: dict[str, Any] = {"settings": q.model_dump()}
    app = create_app(settings, encoder=enc)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=600) as client,
    ):
        assert (await client.post("/v1/collections", json={"name": "bench"})).status_code == 201
        runtime = app.state.runtime
        store, name = runtime.store, runtime.collections.get(LOCAL_OWNER, "bench").store_name
        member = {n: np.zeros(args.n, dtype=bool) for n in SELECTIVITY}
        for n, rows in w.labels.items():
            member[n][rows] = True
        t0 = time.perf_counter()
        for start in range(0, args.n, 2_000):
            stop = min(args.n, start + 2_000)
            store.upsert(
                name,
                [
                    PointRecord(
                        point_id(i),
                        {"image": w.x[i], "text": w.alt[i]},
                        {"labels": [n for n in SELECTIVITY if member[n][i]], "source": f"bench/{i}.jpg"},
                    )
                    for i in range(start, stop)
                ],
            )
        upsert_s = time.perf_counter() - t0
        print(f"ours: stored {args.n:,} points in {upsert_s:.1f} s; building the index", flush=True)
        out["build"] = {"upsert_s": round(upsert_s, 1), "points_per_s": round(args.n / upsert_s)}
        out["build"].update(build_while_searching(store, name, w))
        print(f"ours: index built in {out['build']['build_s']} s", flush=True)
        ids = {point_id(i): i for i in range(args.n)}

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = await client.post(path, json=body)
            if r.status_code != 200:
                raise SystemExit(f"{path} answered {r.status_code}: {r.text}")
            result: dict[str, Any] = r.json()
            return result

        search, opp = "/v1/collections/bench/search", "/v1/collections/bench/oppositions"

        def body(kind: str, i: int) -> tuple[str, dict[str, Any]]:
            if kind == "opposition":
                return opp, {"a": f'"q:pa:{i}"', "b": f'"q:pb:{i}"', "limit": K}
            if kind.startswith("filtered_"):
                return search, {"expression": f'"q:text:{i}"', "limit": K, "filter": {"labels": kind[9:]}}
            return search, {"expression": f'"q:{kind}:{i}"', "limit": K}

        def score(kind: str, i: int, r: dict[str, Any]) -> float:
            if kind == "opposition":
                a = recall([ids[h["id"]] for h in r["a"]["hits"]], w.truth["opposition"][i])
                return (a + recall([ids[h["id"]] for h in r["b"]["hits"]], w.truth["opposition_b"][i])) / 2
            return recall([ids[h["id"]] for h in r["hits"]], w.truth[kind][i])

        lat = []
        for _ in range(50):
            t0 = time.perf_counter()
            await client.get("/healthz")
            lat.append(time.perf_counter() - t0)
        out["transport"] = stats(lat)  # the in-process HTTP round trip alone (GET /healthz)
        kinds = [*QUERY_KINDS, *(f"filtered_{n}" for n in SELECTIVITY)]
        # Warm-up: every query of every kind once (the term cache filled, the graph's pages read since the
        # build swapped the shard in), so every kind is measured as warm as the text queries always were.
        for kind in kinds:
            for i in range(args.queries):
                await post(*body(kind, i))
        for kind in kinds:
            lat, rec, knn = [], [], []
            for i in range(args.queries):
                t0 = time.perf_counter()
                r = await post(*body(kind, i))
                lat.append(time.perf_counter() - t0)
                rec.append(score(kind, i, r))
                knn.append(r["timings"]["knn_ms"])
            # knn_p50_ms: the engine's share (the response's own timing); the rest is the request path's.
            out[kind] = {**stats(lat, rec), "knn_p50_ms": round(float(np.median(knn)), 3)}
            print(
                f"ours {kind:<14} recall@10 {out[kind]['recall_at_10']:.3f}  p50 {out[kind]['p50_ms']:.2f} ms"
                f"  (knn {out[kind]['knn_p50_ms']:.2f} ms)",
                flush=True,
            )

        async def clients(c: int, seconds: float, lat: list[float] | None = None) -> float:
            stop, done = time.perf_counter() + seconds, 0

            async def one(j: int) -> None:
                nonlocal done
                i = j
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    await post(*body("text", i % args.queries))
                    if lat is not None:
                        lat.append(time.perf_counter() - t0)
                    i += c
                    done += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(one(j) for j in range(c)))
            return done / (time.perf_counter() - t0)

        # In-process ASGI: clients and server share one event loop and one GIL, so this is the app's own
        # ceiling; bench/concurrency.py measures separate client processes over real HTTP.
        out["qps"], out["clients"] = {}, {}
        for c in args.clients:
            lat = []
            out["qps"][str(c)] = round(await clients(c, args.seconds, lat), 1)
            out["clients"][str(c)] = {"qps": out["qps"][str(c)], **stats(lat)}
        print(f"ours qps by clients: {out['qps']}", flush=True)
        # Two whole-collection histograms (the heavy-request gate's two turns) beside 4 searching clients.
        heavy = [
            asyncio.create_task(post(opp, {"a": '"q:pa:0"', "b": '"q:pb:0"', "limit": K, "histogram": 20}))
            for _ in range(2)
        ]
        t0 = time.perf_counter()
        beside = await clients(4, args.seconds)
        await asyncio.gather(*heavy)
        out["beside_heavy"] = {"qps_4_clients": round(beside, 1), "heavy_s": round(time.perf_counter() - t0, 1)}
        if not args.no_engine_probe:
            out["engine"] = engine_probe(store, name, w, ids)
            out["gil"] = gil_probe(store, name, w)
            print(f"engine and the GIL: {out['gil']}", flush=True)
            out["engine_filtered"] = engine_filtered_probe(store, name, w, ids)
    return out


def probe_filters(w: Workload) -> dict[str, tuple[dict[str, Any], np.ndarray]]:
    """Filters keeping 1-99 % of the points, built from the nested labels (``u < f`` of one draw, so s1 ⊂
    s10 ⊂ s50): each a filter body and the rows it keeps. ``must`` on a label walks that value's own graph
    links; ``must_not`` (and a ``must`` narrowed by one) has none, the hard case for a filtered walk."""
    n, lab = len(w.x), w.labels

    def value(v: str) -> dict[str, Any]:
        return {"key": "labels", "match": {"value": v}}

    every = np.arange(n)
    return {
        "s1": ({"must": [value("s1")]}, lab["s1"]),
        "s10-s1": ({"must": [value("s10")], "must_not": [value("s1")]}, np.setdiff1d(lab["s10"], lab["s1"])),
        "s10": ({"must": [value("s10")]}, lab["s10"]),
        "s50-s10": ({"must": [value("s50")], "must_not": [value("s10")]}, np.setdiff1d(lab["s50"], lab["s10"])),
        "s50": ({"must": [value("s50")]}, lab["s50"]),
        "not-s50": ({"must_not": [value("s50")]}, np.setdiff1d(every, lab["s50"])),
        "not-s10": ({"must_not": [value("s10")]}, np.setdiff1d(every, lab["s10"])),
        "not-s1": ({"must_not": [value("s1")]}, np.setdiff1d(every, lab["s1"])),
    }


def engine_filtered_probe(store: Any, name: str, w: Workload, ids: dict[str, int]) -> dict[str, Any]:
    """Filtered text queries straight on the Edge shard (no REST): recall/p50 by ``hnsw_ef`` for filters
    keeping 1-99 % of the points, and (``store``) with the beam the store picks for each of them.

    The data behind ``services/vectorstore/beam.py`` (bench/README.md "Scale"). ACORN, measured in run 4,
    is left out: it cost 25-66 ms a query at 10 % for no recall gained.
    """
    import qdrant_edge as qe

    from services.vectorstore.conversions import edge_filter
    from services.vectorstore.filters import parse_filter

    shard = store._collections[name].shard  # private: the probe varies what the store fixes
    quant = qe.QuantizationSearchParams(rescore=True, oversampling=store._index.oversampling)
    qs = w.queries["text"]
    scores = w.x @ qs.T  # (n, queries): every filter's exact answer, without copying the kept rows
    out: dict[str, Any] = {}
    for label, (body, rows) in probe_filters(w).items():
        masked = np.full(len(w.x), -np.inf, dtype=np.float32)
        truth = []
        for i in range(len(qs)):
            masked[rows] = scores[rows, i]
            part = np.argpartition(-masked, K - 1)[:K]
            truth.append([int(r) for r in part])
        flt = parse_filter(body)
        edge = edge_filter(flt)
        row: dict[str, Any] = {"share": round(len(rows) / len(w.x), 4)}
        for ef in (*FILTERED_EFS, "store"):
            lat, rec = [], []
            for i, q in enumerate(qs):
                t0 = time.perf_counter()
                if ef == "store":
                    found = [ids[h.id] for h in store.search(name, q, limit=K, filter=flt)]
                else:
                    params = qe.SearchParams(hnsw_ef=ef, quantization=quant)
                    req = qe.QueryRequest(
                        limit=K, query=qe.Query.Nearest(q.tolist(), using="image"), filter=edge, params=params
                    )
                    found = [ids[str(h.id)] for h in shard.query(req)]
                lat.append(time.perf_counter() - t0)
                rec.append(recall(found, truth[i]))
            row[f"ef{ef}" if ef != "store" else "store"] = stats(lat, rec)
        out[label] = row
        print(
            f"engine filtered {label:<8} keeps {row['share']:.3f}: "
            + "  ".join(f"{k} {v['recall_at_10']:.3f}/{v['p50_ms']:.2f} ms" for k, v in row.items() if k != "share"),
            flush=True,
        )
    return out


def engine_probe(store: Any, name: str, w: Workload, ids: dict[str, int]) -> dict[str, Any]:
    """Unfiltered queries of each kind straight on the Edge shard (no REST): recall/p50 by ``hnsw_ef``.

    Next to the REST figures, the part of each query's time that is the engine's; an opposition is its
    two pole searches (``±`` the axis), one after the other (the store sends them as one batch).
    """
    import qdrant_edge as qe

    shard = store._collections[name].shard  # private: the probe varies what the store fixes
    quant = qe.QuantizationSearchParams(rescore=True, oversampling=store._index.oversampling)
    out: dict[str, Any] = {}
    for kind in QUERY_KINDS:
        for ef in EFS:
            params = qe.SearchParams(hnsw_ef=ef, quantization=quant)

            def knn(q: np.ndarray, params: Any = params) -> list[int]:
                req = qe.QueryRequest(limit=K, query=qe.Query.Nearest(q.tolist(), using="image"), params=params)
                return [ids[str(h.id)] for h in shard.query(req)]

            lat, rec = [], []
            for i, q in enumerate(w.queries[kind]):
                t0 = time.perf_counter()
                found = knn(q)
                if kind == "opposition":
                    other = knn(-q)
                lat.append(time.perf_counter() - t0)
                r = recall(found, w.truth[kind][i])
                rec.append((r + recall(other, w.truth["opposition_b"][i])) / 2 if kind == "opposition" else r)
            key = f"{kind}_ef{ef}"
            out[key] = stats(lat, rec)
            print(
                f"engine {key:<18} recall@10 {out[key]['recall_at_10']:.3f}  p50 {out[key]['p50_ms']:.2f} ms",
                flush=True,
            )
    return out


def gil_probe(store: Any, name: str, w: Workload, searches: int = 50) -> dict[str, Any]:
    """Does a search let other Python threads run? A thread that sleeps 0.2 ms in a loop ticks beside
    ``searches`` searches; ``ticks_per_ms`` near 0 means each search holds the GIL (and with it the event
    loop, every other request's Python, and the other thread-pool searches) until it returns."""
    stop, ticks = threading.Event(), [0]

    def tick() -> None:
        while not stop.is_set():
            time.sleep(0.0002)
            ticks[0] += 1

    qs = w.queries["text"]
    alone = time.perf_counter()
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    time.sleep(0.2)
    idle_rate = ticks[0] / ((time.perf_counter() - alone) * 1e3)
    ticks[0], t0 = 0, time.perf_counter()
    for i in range(searches):
        store.search(name, qs[i % len(qs)], limit=K)
    busy_ms = (time.perf_counter() - t0) * 1e3
    stop.set()
    thread.join()
    return {
        "searches": searches,
        "search_ms": round(busy_ms / searches, 3),
        "ticks_per_ms_idle": round(idle_rate, 2),
        "ticks_per_ms_searching": round(ticks[0] / busy_ms, 2),
    }


def build_while_searching(store: Any, name: str, w: Workload) -> dict[str, Any]:
    """Build the index (``optimize``) while a second thread searches; the build's time, RSS and those latencies.

    The store builds in a child process, so the searching thread keeps going (``during_build``: its latencies
    and how many it made); a build in this process would hold the GIL and allow one search, at the end.
    """
    done = threading.Event()
    lat: list[float] = []
    peak = [rss_mb()]

    def search() -> None:
        i = 0
        qs = w.queries["text"]
        while not done.is_set():
            t0 = time.perf_counter()
            store.search(name, qs[i % len(qs)], limit=K)
            lat.append(time.perf_counter() - t0)
            peak[0] = max(peak[0], rss_mb())
            i += 1
            time.sleep(0.05)

    before = rss_mb()
    thread = threading.Thread(target=search, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    store.optimize(name)
    build_s = time.perf_counter() - t0
    done.set()
    thread.join()
    out: dict[str, Any] = {
        "build_s": round(build_s, 1),
        "rss_before_mb": round(before),
        "peak_rss_mb": round(peak[0]),
        # The store builds in a child process (services/vectorstore/edge_build.py): its own peak, too.
        "child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "phases": store.build_report(name),  # copy (writes wait), the child's build, replay and swap
    }
    if lat:
        out["during_build"] = {**stats(lat), "searches": len(lat)}
    return out


# --- peers ------------------------------------------------------------------------------------------


def sweep(name: str, search: Any, w: Workload, efs: Sequence[int], set_ef: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ef in efs:
        set_ef(ef)
        row: dict[str, Any] = {}
        for kind in QUERY_KINDS:
            lat, rec = [], []
            for i, q in enumerate(w.queries[kind]):
                t0 = time.perf_counter()
                found = search(q)
                lat.append(time.perf_counter() - t0)
                rec.append(recall(found, w.truth[kind][i]))
            row[kind] = stats(lat, rec)
        out[str(ef)] = row
        print(
            f"{name} ef={ef}: " + "  ".join(f"{k} {v['recall_at_10']:.3f}/{v['p50_ms']:.2f}ms" for k, v in row.items()),
            flush=True,
        )
    return out


def run_faiss_hnsw(w: Workload, efs: Sequence[int]) -> dict[str, Any]:
    import faiss

    index = faiss.IndexHNSWFlat(w.x.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    t0 = time.perf_counter()
    index.add(w.x)
    build = time.perf_counter() - t0
    print(f"faiss HNSW built in {build:.1f} s", flush=True)

    def set_ef(ef: int) -> None:
        index.hnsw.efSearch = ef

    return {
        "build_s": round(build, 1),
        "by_ef": sweep("faiss-hnsw", lambda q: index.search(q[None], K)[1][0].tolist(), w, efs, set_ef),
    }


def run_usearch(w: Workload, efs: Sequence[int]) -> dict[str, Any]:
    from usearch.index import Index

    index = Index(ndim=w.x.shape[1], metric="ip", dtype="f32", connectivity=16, expansion_add=128)
    t0 = time.perf_counter()
    index.add(np.arange(len(w.x)), w.x, threads=os.cpu_count() or 1)
    build = time.perf_counter() - t0
    print(f"usearch built in {build:.1f} s", flush=True)

    def set_ef(ef: int) -> None:
        index.expansion_search = ef

    def search(q: np.ndarray) -> list[int]:
        return [int(k) for k in index.search(q, K).keys]

    return {"build_s": round(build, 1), "by_ef": sweep("usearch", search, w, efs, set_ef)}


def run_local_mode(w: Workload, n: int) -> dict[str, Any]:
    """qdrant-client local mode on the first ``n`` points, in memory (persisting to a path costs only the
    upsert: its searches scan the same numpy arrays); 10 text queries."""
    from qdrant_client import QdrantClient
    from qdrant_client import models as m

    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    client = QdrantClient(":memory:")
    client.create_collection("b", vectors_config=m.VectorParams(size=w.x.shape[1], distance=m.Distance.COSINE))
    t0 = time.perf_counter()
    for start in range(0, n, 2_000):
        rows = range(start, min(n, start + 2_000))
        client.upsert("b", points=m.Batch(ids=list(rows), vectors=w.x[start : rows.stop].tolist()))
    upsert_s = time.perf_counter() - t0
    x = w.x[:n]
    lat, rec = [], []
    for q in w.queries["text"][:10]:
        t0 = time.perf_counter()
        hits = client.query_points("b", query=q.tolist(), limit=K).points
        lat.append(time.perf_counter() - t0)
        rec.append(recall([int(h.id) for h in hits], top_k(x, q)))
    client.close()
    out = {"n": n, "upsert_s": round(upsert_s, 1), "text": stats(lat, rec)}
    print(f"qdrant-client local mode, {n:,} points: {out}", flush=True)
    return out


# --- main -------------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=1_000_000, help="points (default 1,000,000; 200,000 is quicker)")
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--data", choices=["clip", "uniform"], default="clip")
    p.add_argument("--queries", type=int, default=50, help="queries per kind")
    p.add_argument("--clients", type=lambda s: [int(c) for c in s.split(",")], default=[1, 2, 4, 8, 16])
    p.add_argument("--seconds", type=float, default=5.0, help="length of each throughput measurement")
    p.add_argument("--efs", type=lambda s: [int(c) for c in s.split(",")], default=[64, 128, 256, 512])
    p.add_argument("--local-n", type=int, default=20_000, help="points for qdrant-client local mode")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument(
        "--local-only", action="store_true", help="only qdrant-client local mode (on --local-n points) and exact"
    )
    p.add_argument("--no-engine-probe", action="store_true", help="skip the ef and ACORN probes on the shard")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="default artifacts/bench/scale-<n>-<data>.json")
    args = p.parse_args()
    out_path = args.out or Path(f"artifacts/bench/scale-{args.n}-{args.data}.json")

    t_start = time.perf_counter()
    w = Workload(args)
    print(
        f"workload: {args.n:,} × {args.dim} {args.data}, {args.queries} queries per kind; generated in "
        f"{w.gen_s:.1f} s, exact answers in {w.truth_s:.1f} s",
        flush=True,
    )
    generator = {"params": asdict(w.gen.p), "stats": w.gen.stats(), "seed": args.seed}
    print(f"generator: {json.dumps({k: round(v, 3) for k, v in generator['stats'].items() if v is not None})}")
    root = Path(tempfile.mkdtemp(prefix="signifier-scale-"))
    result: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "data": args.data,
        "queries_per_kind": args.queries,
        "generator": generator,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "targets": TARGETS,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after each stage, so an hour-long run that dies late keeps what it measured
        out_path.write_text(json.dumps(result, indent=2))

    peers: dict[str, Any] = {"faiss_flat": w.flat} if w.flat else {}
    result["peers"] = peers
    if args.local_only:  # local mode takes minutes to hold 1M points, and a second to search them
        peers["qdrant_local"] = run_local_mode(w, min(args.n, args.local_n))
        result["wall_s"] = round(time.perf_counter() - t_start, 1)
        save()
        print(f"wrote {out_path}")
        return
    try:
        result["ours"] = run_ours(args, w, root)
        save()
        if not args.no_peers:
            for label, run in (("faiss_hnsw", run_faiss_hnsw), ("usearch", run_usearch)):
                try:
                    peers[label] = run(w, args.efs)
                except ImportError as exc:
                    peers[label] = {"skipped": str(exc)}
                save()
            peers["qdrant_local"] = run_local_mode(w, min(args.n, args.local_n))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ours = result["ours"]
    kinds = [*QUERY_KINDS, *(f"filtered_{n}" for n in SELECTIVITY)]
    result["met"] = {
        "recall": all(ours[k]["recall_at_10"] >= TARGETS["recall_at_10"] for k in kinds),
        "p50": all(ours[k]["p50_ms"] <= TARGETS["p50_ms"] for k in kinds),
    }
    result["peak_rss_mb"] = round(peak_rss_mb())
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    print(f"\n{'query (REST)':<18}{'recall@10':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for k in kinds:
        print(f"{k:<18}{ours[k]['recall_at_10']:>10.3f}{ours[k]['p50_ms']:>9.2f}{ours[k]['p95_ms']:>9.2f}")
    print(f"targets met: {result['met']}; wall {result['wall_s']} s")
    save()
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
