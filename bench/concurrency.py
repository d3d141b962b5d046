"""Concurrency: do searches run in parallel, and does a heavy request starve an ordinary one? Real HTTP.

    nice -n 19 .venv/bin/python bench/concurrency.py --n 100000 --clients 1,2,4,8
    nice -n 19 .venv/bin/python bench/concurrency.py --n 200000 --heavy-clients 4 --out artifacts/bench/c.json

1. ``bench/scale.py``'s workload (CLIP-like vectors, seeded) goes into a fresh embedded collection with the
   default index settings, and the index is built, in this process.
2. **store**: threads calling ``EmbeddedStore.search`` directly, 1, 2 and 4 at once (no HTTP): if Qdrant Edge
   kept the GIL, two threads would do no more searches per second than one.
3. The store is closed and ``signifier``'s app serves the same data directory from a **separate uvicorn
   process** (``--serve``; the table encoder maps ``"q:text:7"`` to that query's vector, so no model runs).
4. **clients**: 1, 2, 4, 8 client *processes* (one keep-alive connection each) send text searches back to back
   for ``--seconds``: qps, p50/p95, recall@10, and the server process's CPU use (``server_cpu_pct`` over 100
   means it ran on more than one core at once; ``requests_per_server_cpu_s`` is the cost side, which does
   not depend on how many cores the machine had free).
5. **beside_heavy**: ``--heavy-clients`` processes send heavy requests back to back (half whole-collection
   opposition histograms, half searches with the largest filter the limits admit: 256 ``should`` conditions
   of 1,000 values each), while one client sends ordinary searches: its p50/p95/max next to the same client
   alone, and every status the heavy ones got (200, or 503 ``Busy`` from the heavy-request gate; anything
   else is reported as a failure).

Both processes share the machine's cores; ``/proc/loadavg`` before and after goes into the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import SELECTIVITY, K, TableEncoder, Workload, point_id, recall, stats
from services.core.types import PointRecord

SEARCH = "/v1/collections/bench/search"
OPP = "/v1/collections/bench/oppositions"


def settings_for(root: Path, dim: int) -> Any:
    from services.core.settings import Limits, QdrantSettings, Settings

    return Settings(
        data_dir=root,
        model=f"bench-table-{dim}",
        device="cpu",
        qdrant=QdrantSettings(optimize_after=None),
        qdrant_url=None,
        redis_url=None,
        database_url=None,
        auth="local",
        limits=Limits(),  # the shipped limits: they are what is being checked
    )


# --- 1 and 2: load, build, threads on the store ------------------------------------------------------


async def load(args: argparse.Namespace, w: Workload, root: Path) -> dict[str, Any]:
    import httpx

    from services.accounts.principal import LOCAL_OWNER
    from services.api.app import create_app

    app = create_app(settings_for(root, args.dim), encoder=TableEncoder(args.dim, w.table))
    out: dict[str, Any] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=600) as client,
    ):
        r = await client.post("/v1/collections", json={"name": "bench"})
        assert r.status_code == 201, r.text
        runtime = app.state.runtime
        store, name = runtime.store, runtime.collections.get(LOCAL_OWNER, "bench").store_name
        member = {n: np.zeros(args.n, dtype=bool) for n in SELECTIVITY}
        for n, rows in w.labels.items():
            member[n][rows] = True
        t0 = time.perf_counter()
        for start in range(0, args.n, 2_000):
            store.upsert(
                name,
                [
                    PointRecord(
                        point_id(i),
                        {"image": w.x[i], "text": w.alt[i]},
                        {"labels": [n for n in SELECTIVITY if member[n][i]], "source": f"bench/{i}.jpg"},
                    )
                    for i in range(start, min(args.n, start + 2_000))
                ],
            )
        t1 = time.perf_counter()
        store.optimize(name)
        out["upsert_s"], out["build_s"] = round(t1 - t0, 1), round(time.perf_counter() - t1, 1)
        print(f"loaded {args.n:,} points in {out['upsert_s']} s, index built in {out['build_s']} s", flush=True)
        out["store_threads"] = store_threads(store, name, w.queries["text"], args.seconds)
        print(f"store.search qps by threads: {out['store_threads']}", flush=True)
        out["gil"] = gil_probe(store, name, w.queries["text"][0], args.seconds / 2)
        print(f"GIL probe: {out['gil']}", flush=True)
    return out


def store_threads(store: Any, name: str, queries: np.ndarray, seconds: float) -> dict[str, Any]:
    """Searches per second with 1, 2 and 4 threads calling the store at once, and the process CPU use."""
    out: dict[str, Any] = {}
    for t in (1, 2, 4):
        stop, done = time.perf_counter() + seconds, [0] * t

        def run(j: int, stop: float = stop, done: list[int] = done, t: int = t) -> None:
            i = j
            while time.perf_counter() < stop:
                store.search(name, queries[i % len(queries)], limit=K)
                done[j] += 1
                i += t

        threads = [threading.Thread(target=run, args=(j,)) for j in range(t)]
        c0, t0 = time.process_time(), time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        # Searches per CPU second stay flat as threads are added when nothing serialises them; the qps
        # grows only as far as the machine has idle cores to give.
        out[str(t)] = {
            "qps": round(sum(done) / wall, 1),
            "cpu_pct": round(100 * cpu / wall),
            "per_cpu_s": round(sum(done) / max(cpu, 1e-9)),
        }
    return out


# --- 3: the server process -----------------------------------------------------------------------------


def serve(root: Path, port: int, dim: int, switch_interval: float | None = None) -> None:
    import uvicorn

    if switch_interval:
        sys.setswitchinterval(switch_interval)  # an experiment's knob: how long a thread may hold the GIL

    from services.api.app import create_app

    data = np.load(root / "table.npz")
    table = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    app = create_app(settings_for(root / "data", dim), encoder=TableEncoder(dim, table))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait_s(pid: int) -> float:
    """Seconds the threads of ``pid`` spent runnable but waiting for a CPU (``/proc/<pid>/task/*/schedstat``):
    on a shared machine, the share of the wall time the server wanted a core that others had."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total / 1e9


# --- 4 and 5: client processes -------------------------------------------------------------------------


def client_loop(url: str, bodies: list[bytes], first: int, start: float, stop: float, q: Any) -> None:
    """One client: its own connection, requests back to back from ``start`` to ``stop`` (wall clock), from
    ``bodies[first]`` on (so clients of one group send different bodies at once)."""
    import httpx

    lat: list[float] = []
    statuses: dict[int, int] = {}
    hits: list[list[str]] = []
    with httpx.Client(base_url=url, timeout=120, headers={"Content-Type": "application/json"}) as c:
        c.get("/healthz")
        time.sleep(max(0.0, start - time.time()))
        i = first
        while time.time() < stop:
            path, body = bodies[i % len(bodies)].split(b"\n", 1)
            t0 = time.perf_counter()
            r = c.post(path.decode(), content=body)
            lat.append(time.perf_counter() - t0)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 200 and path.decode() == SEARCH and len(hits) < len(bodies):
                hits.append([h["id"] for h in r.json()["hits"]])
            i += 1
    q.put({"lat": lat, "statuses": statuses, "hits": hits})


def run_clients(url: str, groups: list[tuple[int, list[bytes]]], seconds: float, server_pid: int) -> list[Any]:
    """Start every group's clients at once for ``seconds``; each group's results (in order) and the server CPU."""
    ctx = mp.get_context("fork")
    start = time.time() + 1.5  # every process connected and waiting
    stop = start + seconds
    procs, queues = [], []
    for count, bodies in groups:
        for j in range(count):
            q = ctx.Queue()
            procs.append(ctx.Process(target=client_loop, args=(url, bodies, j, start, stop, q)))
            queues.append(q)
    for p in procs:
        p.start()
    time.sleep(max(0.0, start - time.time()))
    c0, w0, t0 = cpu_seconds(server_pid), runqueue_wait_s(server_pid), time.perf_counter()
    results = [q.get(timeout=seconds + 300) for q in queues]
    wall = time.perf_counter() - t0
    cpu, waited = cpu_seconds(server_pid) - c0, runqueue_wait_s(server_pid) - w0
    for p in procs:
        p.join()
    grouped, i = [], 0
    for count, _ in groups:
        grouped.append(results[i : i + count])
        i += count
    server = {"server_cpu_pct": round(100 * cpu / wall), "server_runqueue_wait_pct": round(100 * waited / wall)}
    return [*grouped, {**server, "wall_s": round(wall, 2)}]


def largest_filter() -> list[dict[str, Any]]:
    """``max_filter_conditions`` any-of conditions that never match, as many values each as the body cap
    (``max_json_body_bytes``, with room for the rest of the request) and ``max_filter_values`` admit."""
    from services.core.settings import Limits

    lim = Limits()
    per = lim.max_filter_values
    while True:
        never = [
            {"key": "source", "match": {"any": [f"x{i}-{j}" for j in range(per)]}}
            for i in range(lim.max_filter_conditions)
        ]
        if len(json.dumps(never)) < lim.max_json_body_bytes - 10_000:
            return never
        per = per * 9 // 10


def gil_probe(store: Any, name: str, query: np.ndarray, seconds: float) -> dict[str, Any]:
    """How far a pure-Python thread gets while this thread sits in Qdrant Edge calls, relative to while it
    sleeps: near 0 would mean Edge holds the GIL for the call (then nothing else in the process runs)."""
    from services.core.settings import Limits
    from services.vectorstore.filters import parse_filter

    filt = parse_filter({"should": largest_filter()}, Limits())

    def rate(call: Any) -> tuple[float, float]:
        count, stop = [0], threading.Event()

        def spin() -> None:
            while not stop.is_set():
                count[0] += 1

        th = threading.Thread(target=spin)
        th.start()
        t0, calls = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            if call is None:
                time.sleep(0.01)
            else:
                call()
            calls += 1
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
        return count[0] / wall, calls / wall

    alone, _ = rate(None)
    knn, knn_rate = rate(lambda: store.search(name, query, limit=K))
    heavy, heavy_rate = rate(lambda: store.search(name, query, limit=K, filter=filt))
    return {
        "python_progress_during_knn": round(knn / alone, 2),
        "python_progress_during_heavy_filter": round(heavy / alone, 2),
        "knn_per_s": round(knn_rate, 1),
        "heavy_filter_ms": round(1e3 / heavy_rate, 1),
    }


def summarise(results: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    lat = [x for r in results for x in r["lat"]]
    statuses: dict[str, int] = {}
    for r in results:
        for s, n in r["statuses"].items():
            statuses[str(s)] = statuses.get(str(s), 0) + n
    out = {"requests": len(lat), "qps": round(len(lat) / wall, 1), **stats(lat), "statuses": statuses}
    out["max_ms"] = round(max(lat) * 1e3, 1) if lat else None
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--data", choices=["clip", "uniform"], default="clip")
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--clients", type=lambda s: [int(c) for c in s.split(",")], default=[1, 2, 4, 8])
    p.add_argument("--heavy-clients", type=int, default=4)
    p.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="default artifacts/bench/concurrency-<n>.json")
    p.add_argument(
        "--switch-interval", type=float, default=None, help="the server's sys.setswitchinterval (default 0.005 s)"
    )
    p.add_argument("--serve", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve is not None:
        serve(args.serve, args.port, args.dim, args.switch_interval)
        return
    out_path = args.out or Path(f"artifacts/bench/concurrency-{args.n}.json")
    result: dict[str, Any] = {"n": args.n, "dim": args.dim, "data": args.data, "cpus": os.cpu_count()}
    result["switch_interval_s"] = args.switch_interval or sys.getswitchinterval()
    result["loadavg_before"] = Path("/proc/loadavg").read_text().strip()
    w = Workload(argparse.Namespace(n=args.n, dim=args.dim, data=args.data, queries=args.queries, seed=args.seed))
    root = Path(tempfile.mkdtemp(prefix="signifier-concurrency-"))
    result["load"] = asyncio.run(load(args, w, root / "data"))
    keys = list(w.table)
    np.savez(root / "table.npz", keys=np.array(keys), vectors=np.stack([w.table[k] for k in keys]))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(root), "--port", str(port), "--dim", str(args.dim)]
        + (["--switch-interval", str(args.switch_interval)] if args.switch_interval else []),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

        def req(path: str, body: dict[str, Any]) -> bytes:
            return path.encode() + b"\n" + json.dumps(body).encode()

        text = [req(SEARCH, {"expression": f'"q:text:{i}"', "limit": K}) for i in range(args.queries)]
        ids = {point_id(i): i for i in range(args.n)}
        for b in text:  # warm: the term cache and the pages
            httpx.post(
                url + SEARCH, content=b.split(b"\n", 1)[1], headers={"Content-Type": "application/json"}, timeout=300
            )
        result["clients"] = {}
        for c in args.clients:
            res, server_cpu = run_clients(url, [(c, text)], args.seconds, server.pid)
            row = {**summarise(res, server_cpu["wall_s"]), **server_cpu}
            row["requests_per_server_cpu_s"] = round(100 * row["qps"] / max(server_cpu["server_cpu_pct"], 1), 1)
            found = res[0]["hits"]  # the first client starts at query 0: hits[i] answers query i
            row["recall_at_10"] = round(
                float(np.mean([recall([ids[x] for x in f], w.truth["text"][i]) for i, f in enumerate(found)])), 3
            )
            result["clients"][str(c)] = row
            print(
                f"{c} clients: {row['qps']} qps, p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, "
                f"server CPU {row['server_cpu_pct']} % (waited for a CPU {row['server_runqueue_wait_pct']} %), "
                f"recall@10 {row['recall_at_10']}",
                flush=True,
            )
        never = largest_filter()
        heavy = [
            req(OPP, {"a": '"q:pa:0"', "b": '"q:pb:0"', "limit": K, "histogram": 20}),
            req(SEARCH, {"expression": '"q:text:1"', "limit": K, "filter": {"should": never}}),
        ]
        h = max(1, args.heavy_clients)
        res_o, res_h, server_cpu = run_clients(url, [(1, text), (h, heavy)], args.seconds * 2, server.pid)
        wall = server_cpu["wall_s"]
        result["beside_heavy"] = {
            "heavy_clients": h,
            "heavy_bodies_bytes": [len(b) for b in heavy],
            "ordinary": summarise(res_o, wall),
            "heavy": summarise(res_h, wall),
            **server_cpu,
        }
        bh = result["beside_heavy"]
        print(
            f"beside {h} heavy clients: ordinary p50 {bh['ordinary']['p50_ms']:.1f} ms, p95 "
            f"{bh['ordinary']['p95_ms']:.1f} ms, max {bh['ordinary']['max_ms']} ms; heavy statuses "
            f"{bh['heavy']['statuses']} (p50 {bh['heavy']['p50_ms']:.0f} ms)",
            flush=True,
        )
        bad = {
            s: n for part in ("ordinary", "heavy") for s, n in bh[part]["statuses"].items() if s not in ("200", "503")
        }
        result["limits_hold"] = not bad and set(bh["ordinary"]["statuses"]) == {"200"}
    finally:
        server.terminate()
        server.wait(30)
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    result["loadavg_after"] = Path("/proc/loadavg").read_text().strip()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
