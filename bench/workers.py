"""Ingest throughput by Celery worker count, and the bound of the single-writer embedded store.

    nice -n 19 .venv/bin/python bench/workers.py --count 3000 --workers 1,2,4
    nice -n 19 .venv/bin/python bench/workers.py --count 1000 --workers 1,2 --model shapes-clip --out x.json

The embedded topology (docs/deploy.md): one API process owns the Qdrant Edge store, Celery workers decode
and embed, and hand each batch to the API's internal route, which writes it. Everything is a real
process (``tests/integration/celery_support.py``): a private ``redis-server``, ``signifier serve`` and
``--workers`` × ``signifier worker --concurrency 1``.

1. ``--count`` shapes images (``signifier samples shapes``: 64 px PNGs with alt-text sidecars).
2. For each worker count: a fresh API, Redis and that many worker processes; one folder ingest job;
   images/s from the job's first ``running`` poll to ``done``, the CPU seconds of the API process (the
   writer) and of the workers, and the job's own timings.
3. **writer**: the same points (vectors made up, no model) posted straight to the API's internal upsert
   route by 1, 2 and 4 concurrent clients, as fast as it takes them: the points/s one writer absorbs,
   the ceiling no number of workers can pass.

Workers share the machine's cores with the API and with each other; ``/proc/loadavg`` goes into the JSON.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.core.types import PointRecord, l2_normalize
from services.jobs.wire import encode_point
from tests.integration.celery_support import TOKEN, Cluster


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its waited-for children (a prefork worker's pool)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and every live descendant."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_seconds(p)
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        todo.extend(int(c) for c in children)
    return total


def env(args: argparse.Namespace) -> dict[str, str]:
    """The shipped worker settings, except chunks small enough that every worker count gets many."""
    return {
        "SIGNIFIER_WORKERS__CHUNK_SIZE": str(args.chunk_size),
        "SIGNIFIER_WORKERS__MAX_QUEUED_CHUNKS": "8",
        "SIGNIFIER_WORKERS__REQUEUE_AFTER_S": "300",
        "SIGNIFIER_WORKERS__SWEEP_INTERVAL_S": "10",
        "SIGNIFIER_INGEST__BATCH_SIZE": "64",
        "SIGNIFIER_INGEST__DECODE_WORKERS": "1",
        "SIGNIFIER_TORCH_THREADS": "1",  # one core per worker process, as `signifier worker -c N` sets it
    }


def ingest(args: argparse.Namespace, images: Path, workers: int, tmp: Path) -> dict[str, Any]:
    with Cluster(tmp, args.model, **env(args)) as c:
        for _ in range(workers):
            c.start_worker()
        deadline = time.monotonic() + 300
        while not all("ready" in w.tail(200) for w in c.workers):  # Celery's "celery@… ready."
            if time.monotonic() > deadline:
                raise SystemExit(f"workers did not start:\n{c.logs_tail()}")
            time.sleep(0.5)
        c.call("POST", "/v1/collections", {"name": "w"}, expect=201)
        api_pid = c.api.proc.pid if c.api.proc else 0
        pids = [w.proc.pid for w in c.workers if w.proc]
        api0, work0 = tree_cpu(api_pid), sum(tree_cpu(p) for p in pids)
        t0 = time.perf_counter()
        job_id = c.call("POST", "/v1/collections/w/ingest", {"path": str(images)}, expect=202)["job_id"]
        job = c.wait_job(job_id, timeout=1800)
        wall = time.perf_counter() - t0
        api_cpu, work_cpu = tree_cpu(api_pid) - api0, sum(tree_cpu(p) for p in pids) - work0
        points = c.points("w")
    assert job["state"] == "done" and points == args.count, (job["state"], points)
    return {
        "workers": workers,
        "images": args.count,
        "wall_s": round(wall, 1),
        "images_per_s": round(args.count / wall, 1),
        "api_cpu_s": round(api_cpu, 1),
        "api_cpu_pct": round(100 * api_cpu / wall),
        "workers_cpu_s": round(work_cpu, 1),
        "workers_cpu_pct": round(100 * work_cpu / wall),
        "job_timings": job.get("timings"),
    }


def writer(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Points/s the API's internal upsert route absorbs from 1, 2 and 4 clients (no model, no decode)."""
    import httpx

    batch, n = 64, args.writer_points
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"batch": batch}
    with Cluster(tmp, args.model, **env(args)) as c:
        for clients in (1, 2, 4):
            name = f"wr{clients}"
            c.call("POST", "/v1/collections", {"name": name}, expect=201)
            dim = int(c.call("GET", f"/v1/collections/{name}", expect=200)["dim"])
            # The store's own name, <name>-<12 hex>, is the folder the embedded store keeps it in.
            (folder,) = (tmp / "data").glob(f"**/{name}-*/collection.json")
            store_name = folder.parent.name
            bodies = []
            for start in range(0, n, batch):
                v = l2_normalize(rng.standard_normal((batch, dim)).astype(np.float32))
                t = l2_normalize(rng.standard_normal((batch, dim)).astype(np.float32))
                pts = [
                    PointRecord(
                        str(uuid.UUID(int=(clients << 40) + start + i + 1)),
                        {"image": v[i], "text": t[i]},
                        {"source": f"bench/{start + i}.png", "alt_text": "a red circle"},
                    )
                    for i in range(batch)
                ]
                bodies.append(json.dumps({"points": [encode_point(p) for p in pts]}).encode())
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

            def post(chunk: list[bytes], store_name: str = str(store_name), headers: dict[str, str] = headers) -> None:
                with httpx.Client(base_url=c.url, timeout=120, headers=headers) as h:
                    for b in chunk:
                        r = h.post(f"/internal/v1/collections/{store_name}/points", content=b)
                        assert r.status_code == 204, r.text[:300]

            api_pid = c.api.proc.pid if c.api.proc else 0
            cpu0, t0 = tree_cpu(api_pid), time.perf_counter()
            with cf.ThreadPoolExecutor(clients) as pool:
                list(pool.map(post, [bodies[j::clients] for j in range(clients)]))
            wall = time.perf_counter() - t0
            out[str(clients)] = {
                "points_per_s": round(len(bodies) * batch / wall),
                "api_cpu_pct": round(100 * (tree_cpu(api_pid) - cpu0) / wall),
            }
            print(f"writer, {clients} clients: {out[str(clients)]}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=3000, help="images to ingest per worker count")
    p.add_argument("--workers", type=lambda s: [int(c) for c in s.split(",")], default=[1, 2, 4])
    p.add_argument("--model", default="shapes-clip")
    p.add_argument("--chunk-size", type=int, default=100, help="images per Celery task")
    p.add_argument("--writer-points", type=int, default=6400, help="points per writer measurement")
    p.add_argument("--out", type=Path, default=None, help="default artifacts/bench/workers-<count>.json")
    args = p.parse_args()
    out_path = args.out or Path(f"artifacts/bench/workers-{args.count}.json")
    result: dict[str, Any] = {"count": args.count, "model": args.model, "cpus": os.cpu_count()}
    result["loadavg_before"] = Path("/proc/loadavg").read_text().strip()
    with tempfile.TemporaryDirectory(prefix="signifier-workers-") as d:
        tmp = Path(d)
        from services.shapes.world import write_samples

        t0 = time.perf_counter()
        write_samples(tmp / "images", args.count, seed=0)
        print(f"wrote {args.count} shapes images in {time.perf_counter() - t0:.1f} s", flush=True)
        result["ingest"] = []
        for w in args.workers:
            row = ingest(args, tmp / "images", w, tmp / f"run{w}")
            result["ingest"].append(row)
            print(
                f"{w} worker processes: {row['images_per_s']} images/s ({row['wall_s']} s); API (writer) CPU "
                f"{row['api_cpu_pct']} %, workers CPU {row['workers_cpu_pct']} %",
                flush=True,
            )
        result["writer"] = writer(args, tmp / "writer")
    result["loadavg_after"] = Path("/proc/loadavg").read_text().strip()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
