"""Query benchmark: the real REST app over the embedded store vs qdrant-client local mode, in one run.

    .venv/bin/python bench/query.py                 # 100,000 × 512, both named vectors (a few minutes)
    .venv/bin/python bench/query.py --n 2000        # a quick run

Builds N random unit vectors (``image`` and ``text``) in a fresh embedded collection, then sends requests
through the real FastAPI app (in-process ASGI client, so JSON, validation, auth, composition and Qdrant
Edge are all on the clock) and measures p50/p95 latency and recall@10 against the exact numpy ranking of
all stored vectors for:

- ``search3``:     a 3-term text expression with a warm term cache (``"t1" - 0.3*"t2" + 0.5*"t3"``);
- ``opposition``:  ``/oppositions`` with two text poles, both poles (recall averaged over the poles);
- ``filtered``:    a 1-term search with a payload filter on an indexed field (10% of the points);
- ``search3_centered``: the 3-term query with ``center: true`` (modality means cached after the first call).

The baseline is what most Python users reach for: ``qdrant-client`` in local mode
(``QdrantClient(path=...)``), with the same query vectors composed client-side from the same cached
term vectors. Its store lives on /dev/shm when there is one (local mode commits every point to SQLite;
the disk only slows its build, not its queries). Ratios are baseline p50 / ours p50.

Random high-dimensional vectors are the hard case for HNSW (nearest neighbours are barely nearer
than anything else); the text encoder is a deterministic hash → random unit vector, since the term
cache keeps the encoder off the measured path. Results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from services.core.types import PointRecord, Vector
from services.encoders.base import Encoder, PixelBatch

TERMS = [f"bench term {i}" for i in range(64)]
BUCKETS = 10
K = 10
TARGETS = {"search3_p50_ms": 10.0, "recall_at_10": 0.98, "speedup": 20.0}


class HashTextEncoder(Encoder):
    """Texts → deterministic random unit vectors (sha256 seeds); no images. Stands in for CLIP here."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self._dim = dim
        self.model_id = f"bench-hash-{dim}"

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
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self._dim)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> Vector:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def point_id(i: int) -> str:
    return str(uuid.UUID(int=i + 1))


def chunks(n: int, dim: int, seed: int, size: int = 2_000) -> Any:
    """(start, image vectors, text vectors) in chunks; the same seed gives the same data for both stores."""
    for c, start in enumerate(range(0, n, size)):
        m = min(size, n - start)
        rng = np.random.default_rng([seed, c])
        yield start, unit_rows(rng, m, dim), unit_rows(rng, m, dim)


def payload(i: int) -> dict[str, Any]:
    return {"labels": [f"b{i % BUCKETS}"], "bucket": i % BUCKETS, "source": f"bench/{i}.jpg"}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q))


def timed(fn: Callable[[], Any], count: int) -> tuple[list[float], list[Any]]:
    lat, out = [], []
    for _ in range(count):
        t0 = time.perf_counter()
        out.append(fn())
        lat.append(time.perf_counter() - t0)
    return lat, out


def recall(found: Sequence[str], truth: Sequence[str]) -> float:
    return len(set(found) & set(truth)) / max(1, len(truth))


class Workload:
    """The queries (same for both systems) and their exact answers."""

    def __init__(self, x: Vector, buckets: np.ndarray, enc: HashTextEncoder, queries: int, seed: int) -> None:
        from services.query.compose import axis, compose

        rng = np.random.default_rng(seed + 1)
        term_vec = dict(zip(TERMS, enc.encode_texts(TERMS), strict=True))
        self.term_vec = term_vec
        self.search3: list[tuple[str, tuple[str, str, str], list[str]]] = []
        self.opposition: list[tuple[str, str, Vector, list[str], list[str]]] = []
        self.filtered: list[tuple[str, int, Vector, list[str]]] = []
        ids = np.asarray([point_id(i) for i in range(len(x))])
        for _ in range(queries):
            a, b, c = rng.choice(TERMS, 3, replace=False)
            q = compose([1.0, -0.3, 0.5], np.stack([term_vec[a], term_vec[b], term_vec[c]])).vector
            self.search3.append((f'"{a}" - 0.3*"{b}" + 0.5*"{c}"', (a, b, c), list(ids[_top(x @ q)])))
            a, b = rng.choice(TERMS, 2, replace=False)
            ax = axis(term_vec[a], term_vec[b])
            scores = x @ ax.direction
            self.opposition.append(
                (f'"{a}"', f'"{b}"', ax.direction, list(ids[_top(scores)]), list(ids[_top(-scores)]))
            )
            t, k = str(rng.choice(TERMS)), int(rng.integers(BUCKETS))
            mask = np.flatnonzero(buckets == k)
            s = x[mask] @ term_vec[t]
            self.filtered.append((f'"{t}"', k, term_vec[t], list(ids[mask[_top(s)]])))


def _top(scores: np.ndarray) -> np.ndarray:
    k = min(K, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part])]


def summary(lat: list[float], recalls: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(lat, 50), 3),
        "p95_ms": round(pct(lat, 95), 3),
        "recall_at_10": round(float(np.mean(recalls)), 4) if recalls else float("nan"),
        "requests": len(lat),
    }


async def atimed(fn: Callable[[], Awaitable[Any]], count: int) -> tuple[list[float], list[Any]]:
    lat, out = [], []
    for _ in range(count):
        t0 = time.perf_counter()
        out.append(await fn())
        lat.append(time.perf_counter() - t0)
    return lat, out


def run_ours(args: argparse.Namespace, work: Workload, enc: HashTextEncoder, root: Path) -> dict[str, Any]:
    return asyncio.run(_run_ours(args, work, enc, root))


async def _run_ours(args: argparse.Namespace, work: Workload, enc: HashTextEncoder, root: Path) -> dict[str, Any]:
    import httpx

    from services.accounts.principal import LOCAL_OWNER
    from services.api.app import create_app
    from services.core.settings import QdrantSettings, Settings

    q = QdrantSettings(hnsw_m=args.hnsw_m, full_scan_kb=args.full_scan_kb, quantization=args.quantization)
    if args.hnsw_ef:
        q.hnsw_ef = args.hnsw_ef
    # Embedded mode whatever the environment says: no Qdrant server, no Redis, SQLite in the temp dir.
    settings = Settings(
        data_dir=root / "ours", model=enc.model_id, device="cpu", qdrant=q, qdrant_url=None, redis_url=None,
        database_url=None, auth="local",
    )
    out: dict[str, Any] = {"settings": q.model_dump()}
    app = create_app(settings, encoder=enc)
    # The app's own lifespan, and an ASGI client in the same event loop: no server, no thread hops of ours.
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        assert (await client.post("/v1/collections", json={"name": "bench"})).status_code == 201
        runtime = app.state.runtime
        store, name = runtime.store, runtime.collections.get(LOCAL_OWNER, "bench").store_name
        t0 = time.perf_counter()
        for start, img, txt in chunks(args.n, args.dim, args.seed):
            store.upsert(
                name,
                [
                    PointRecord(point_id(start + j), {"image": img[j], "text": txt[j]}, payload(start + j))
                    for j in range(len(img))
                ],
            )
        t1 = time.perf_counter()
        store.optimize(name)
        t2 = time.perf_counter()
        out["build"] = {"upsert_s": round(t1 - t0, 2), "optimize_s": round(t2 - t1, 2)}
        print(f"ours: stored {args.n:,} points in {t1 - t0:.1f} s, indexed in {t2 - t1:.1f} s", flush=True)

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = await client.post(path, json=body)
            if r.status_code != 200:
                raise SystemExit(f"{path} answered {r.status_code}: {r.text}")
            result: dict[str, Any] = r.json()
            return result

        search = "/v1/collections/bench/search"
        opposition = "/v1/collections/bench/oppositions"
        n = len(work.search3)
        # Warm-up: every term into the cache, every code path once.
        for expr, _, _ in work.search3:
            await post(search, {"expression": expr, "limit": K})
        for a, b, *_ in work.opposition[:5]:
            await post(opposition, {"a": a, "b": b, "limit": K})
        lat, _ = await atimed(lambda: client.get("/healthz"), 50)
        out["transport_p50_ms"] = round(pct(lat, 50), 3)

        def cycle(make: Callable[[int], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
            it = iter(range(10**9))
            return lambda: make(next(it) % n)

        lat, res = await atimed(
            cycle(lambda i: post(search, {"expression": work.search3[i][0], "limit": K})), args.requests
        )
        rec = [recall([h["id"] for h in r["hits"]], work.search3[i % n][2]) for i, r in enumerate(res)]
        out["search3"] = summary(lat, rec)

        lat, res = await atimed(
            cycle(lambda i: post(opposition, {"a": work.opposition[i][0], "b": work.opposition[i][1], "limit": K})),
            args.requests,
        )
        rec = []
        for i, r in enumerate(res):
            _, _, _, ta, tb = work.opposition[i % n]
            hits_a, hits_b = [h["id"] for h in r["a"]["hits"]], [h["id"] for h in r["b"]["hits"]]
            rec.append((recall(hits_a, ta) + recall(hits_b, tb)) / 2)
        out["opposition"] = summary(lat, rec)

        def filtered(i: int) -> Awaitable[dict[str, Any]]:
            t, k, _, _ = work.filtered[i]
            return post(search, {"expression": t, "limit": K, "filter": {"labels": f"b{k}"}})

        lat, res = await atimed(cycle(filtered), args.requests)
        rec = [recall([h["id"] for h in r["hits"]], work.filtered[i % n][3]) for i, r in enumerate(res)]
        out["filtered"] = summary(lat, rec)

        # Centring: the first call scans the collection for the modality means; later calls reuse them.
        t0 = time.perf_counter()
        await post(search, {"expression": work.search3[0][0], "limit": K, "center": True})
        first = time.perf_counter() - t0
        for expr, _, _ in work.search3:  # the same warm-up the plain queries had
            await post(search, {"expression": expr, "limit": K, "center": True})
        lat, _ = await atimed(
            cycle(lambda i: post(search, {"expression": work.search3[i][0], "limit": K, "center": True})),
            args.requests,
        )
        out["search3_centered"] = {**summary(lat, []), "first_call_ms": round(first * 1e3, 1)}
        out["search3_centered"].pop("recall_at_10")
    return out


def run_baseline(args: argparse.Namespace, work: Workload, root: Path) -> dict[str, Any]:
    from qdrant_client import QdrantClient
    from qdrant_client import models as m

    from services.query.compose import axis, compose

    # Local mode warns above 20,000 points; measuring it there is the point of the baseline.
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="signifier-bench-", dir=shm if shm.is_dir() else root))
    try:
        client = QdrantClient(path=str(base))
        params = m.VectorParams(size=args.dim, distance=m.Distance.COSINE)
        client.create_collection("bench", vectors_config={"image": params, "text": params})
        t0 = time.perf_counter()
        for start, img, txt in chunks(args.n, args.dim, args.seed):
            ids = [point_id(start + j) for j in range(len(img))]
            client.upsert(
                "bench",
                points=m.Batch(
                    ids=ids,  # type: ignore[arg-type]
                    vectors={"image": img.tolist(), "text": txt.tolist()},
                    payloads=[payload(start + j) for j in range(len(img))],
                ),
            )
        out: dict[str, Any] = {"build": {"upsert_s": round(time.perf_counter() - t0, 2)}, "path": str(base)}
        print(f"baseline: stored {args.n:,} points in {out['build']['upsert_s']:.1f} s", flush=True)
        tv = work.term_vec
        n = min(args.baseline_requests, len(work.search3))

        def search3(i: int) -> list[str]:
            terms = work.search3[i][1]
            q = compose([1.0, -0.3, 0.5], np.stack([tv[t] for t in terms])).vector
            hits = client.query_points("bench", query=q.tolist(), using="image", limit=K, with_payload=True).points
            return [str(h.id) for h in hits]

        def opposition(i: int) -> tuple[list[str], list[str]]:
            a, b, *_ = work.opposition[i]
            ax = axis(tv[a.strip('"')], tv[b.strip('"')])
            poles = []
            for sign in (1.0, -1.0):
                hits = client.query_points(
                    "bench", query=(sign * ax.direction).tolist(), using="image", limit=K, with_payload=True,
                    with_vectors=["image"],
                ).points
                poles.append([str(h.id) for h in hits])
            return poles[0], poles[1]

        def filtered(i: int) -> list[str]:
            _, k, vec, _ = work.filtered[i]
            flt = m.Filter(must=[m.FieldCondition(key="labels", match=m.MatchValue(value=f"b{k}"))])
            hits = client.query_points(
                "bench", query=vec.tolist(), using="image", limit=K, query_filter=flt, with_payload=True
            ).points
            return [str(h.id) for h in hits]

        for i in range(3):  # warm-up
            search3(i)
        it = iter(range(10**9))
        lat, res = timed(lambda: search3(next(it)), n)
        out["search3"] = summary(lat, [recall(r, work.search3[i][2]) for i, r in enumerate(res)])
        it = iter(range(10**9))
        lat, res2 = timed(lambda: opposition(next(it)), n)
        opp_truth = work.opposition
        rec = [(recall(a, opp_truth[i][3]) + recall(b, opp_truth[i][4])) / 2 for i, (a, b) in enumerate(res2)]
        out["opposition"] = summary(lat, rec)
        it = iter(range(10**9))
        lat, res = timed(lambda: filtered(next(it)), n)
        out["filtered"] = summary(lat, [recall(r, work.filtered[i][3]) for i, r in enumerate(res)])
        client.close()
        return out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=100_000, help="points (default 100,000)")
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--requests", type=int, default=300, help="timed requests per query kind (ours)")
    p.add_argument("--baseline-requests", type=int, default=20, help="timed requests per kind (baseline; it is slow)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--hnsw-m", type=int, default=0, help="HNSW graph degree (0, the default: no graph, scans)")
    p.add_argument("--full-scan-kb", type=int, default=256_000, help="segments below this are scanned exactly")
    p.add_argument("--quantization", choices=["int8", "none"], default="int8")
    p.add_argument("--hnsw-ef", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("artifacts/bench/query.json"))
    args = p.parse_args()

    root = Path(tempfile.mkdtemp(prefix="signifier-bench-"))
    try:
        enc = HashTextEncoder(args.dim)
        x = np.concatenate([img for _, img, _ in chunks(args.n, args.dim, args.seed)])
        buckets = np.arange(args.n) % BUCKETS
        pool = min(50, args.requests)
        work = Workload(x, buckets, enc, pool, args.seed)
        del x
        print(f"workload: {args.n:,} × {args.dim}, {pool} distinct queries per kind", flush=True)
        ours = run_ours(args, work, enc, root)
        base = None if args.no_baseline else run_baseline(args, work, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    kinds = ("search3", "opposition", "filtered")
    result: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "ours": ours,
        "baseline": base,
        "targets": TARGETS,
    }
    print()
    print(f"{'query':<18}{'ours p50':>10}{'p95':>9}{'recall@10':>11}{'local p50':>11}{'recall':>8}{'speedup':>9}")
    speedups = {}
    for k in kinds:
        o = ours[k]
        line = f"{k:<18}{o['p50_ms']:>9.2f}m{o['p95_ms']:>8.2f}m{o['recall_at_10']:>11.3f}"
        if base is not None:
            b = base[k]
            speedups[k] = round(b["p50_ms"] / o["p50_ms"], 1)
            line += f"{b['p50_ms']:>10.1f}m{b['recall_at_10']:>8.3f}{speedups[k]:>8.1f}×"
        print(line)
    c = ours["search3_centered"]
    print(f"{'search3 centered':<18}{c['p50_ms']:>9.2f}m{c['p95_ms']:>8.2f}m   (first call, means scan: ", end="")
    print(f"{c['first_call_ms']} ms)")
    print(f"in-process transport alone (GET /healthz): p50 {ours['transport_p50_ms']} ms")
    result["speedup"] = speedups
    result["met"] = {
        "search3_p50": ours["search3"]["p50_ms"] <= TARGETS["search3_p50_ms"],
        "recall": all(ours[k]["recall_at_10"] >= TARGETS["recall_at_10"] for k in kinds),
        "speedup": bool(speedups) and all(s >= TARGETS["speedup"] for s in speedups.values()),
    }
    print(f"targets met: {result['met']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
