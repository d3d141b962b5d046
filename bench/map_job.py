"""The collection map job on a synthetic collection: how long reading, clustering, PCA and UMAP take.

    nice -n 19 .venv/bin/python bench/map_job.py --n 100000 [--dim 512] [--clusters 50] [--dup-n 20000]

``n`` unit vectors around ``clusters`` random centres go into a fresh Qdrant Edge store; the map job's
runner (``MapRunner``) then runs as the API's queue runs it, with its results kept in memory. Printed:
seconds per phase, the PCA view's time (what a user waits for the first map) against the whole job's
(the ratio), and the duplicates job's all-pairs time at ``--dup-n`` points with its n² extrapolation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from typing import Any

import numpy as np

from services.core.types import PointRecord, l2_normalize
from services.jobs.kinds import DuplicatesSource, MapSource
from services.jobs.results import JobResults
from services.jobs.runners.base import JobContext
from services.jobs.runners.collection_map import MapRunner
from services.jobs.runners.duplicates import DuplicatesRunner
from services.sources.items import FailedItem
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore


class MemoryResults(JobResults):
    def __init__(self) -> None:
        self.saved: list[tuple[float, str, int]] = []
        self.t0 = time.perf_counter()

    def save(self, job_id: str, collection_id: str, kind: str, points: int, data: dict[str, Any]) -> None:
        self.saved.append((time.perf_counter() - self.t0, str(data.get("method", kind)), points))


class Quiet:
    def progress(self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float]) -> None:
        pass

    def cancelled(self) -> bool:
        return False


def clustered(n: int, dim: int, clusters: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(clusters, dim)))
    x = centres[rng.integers(clusters, size=n)] + 0.6 * rng.normal(size=(n, dim)) / np.sqrt(dim)
    return l2_normalize(x).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--clusters", type=int, default=50)
    ap.add_argument("--dup-n", type=int, default=20_000)
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, n={args.n:,}, dim={args.dim}, {args.clusters} clusters")
    x = clustered(args.n, args.dim, args.clusters)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None) as tmp:
        store = EmbeddedStore(tmp, optimize_after=None)
        store.create_collection(CollectionSpec("bench", args.dim))
        t = time.perf_counter()
        for s in range(0, args.n, 2048):
            store.upsert(
                "bench",
                [
                    PointRecord(str(uuid.uuid4()), {"image": v}, {"alt_text": f"c{i % 7}"})
                    for i, v in enumerate(x[s : s + 2048], start=s)
                ],
            )
        print(f"upsert: {time.perf_counter() - t:.1f} s")

        results = MemoryResults()
        ctx = JobContext(store=store, results=results)
        runner = MapRunner(MapSource(collection_id="c", job_id="j", clusters=0), "bench", ctx)
        results.t0 = t0 = time.perf_counter()
        runner.run(Quiet())
        total = time.perf_counter() - t0
        first = results.saved[0][0]
        print("map job phases:", {k: v for k, v in runner_timings(results).items()})
        print(
            f"first (PCA) view stored after {first:.1f} s; whole job (UMAP) {total:.1f} s; "
            f"ratio whole/first {total / first:.1f}x"
        )

        if args.dup_n:
            sub = EmbeddedStore(os.path.join(tmp, "dup"), optimize_after=None)
            sub.create_collection(CollectionSpec("dup", args.dim))
            for s in range(0, args.dup_n, 2048):
                sub.upsert(
                    "dup", [PointRecord(str(uuid.uuid4()), {"image": v}) for v in x[s : min(s + 2048, args.dup_n)]]
                )
            dup = DuplicatesRunner(
                DuplicatesSource(collection_id="c", job_id="d", threshold=0.95),
                "dup",
                JobContext(store=sub, results=MemoryResults()),
            )
            t = time.perf_counter()
            dup.run(Quiet())
            d = time.perf_counter() - t
            scale = (args.n / args.dup_n) ** 2
            print(f"duplicates job at {args.dup_n:,}: {d:.1f} s; at {args.n:,} (n² extrapolation): {d * scale:.0f} s")
            sub.close()
        store.close()


def runner_timings(results: MemoryResults) -> dict[str, float]:
    return {f"stored {method} at": round(t, 1) for t, method, _ in results.saved}


if __name__ == "__main__":
    main()
