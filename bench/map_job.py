"""The collection map and duplicates jobs on a synthetic collection: how long reading, clustering, PCA,
UMAP and the duplicate search take.

    nice -n 19 .venv/bin/python bench/map_job.py --n 100000 [--dim 512] [--clusters 50] [--sample 100000]
        [--method umap|pca] [--batch 1024] [--dup-n 20000] [--dup-pairs]

``n`` unit vectors around ``clusters`` random centres go into a fresh Qdrant Edge store; the map job's
runner (``MapRunner``) then runs as the API's queue runs it, with its results kept in memory, fitted on
every point up to ``--sample`` (``SIGNIFIER_LIMITS__LAYOUT_SAMPLE_POINTS``) and on a sample of that many
above. Printed: seconds per phase, the PCA view's time (what a user waits for the first map) against the
whole job's (the ratio), wall and CPU seconds (the machine is shared: CPU time says what the job cost).
The duplicates job (``DuplicatesRunner``: batched neighbour searches) runs on ``--dup-n`` of the points,
2 % of them replaced by near copies (cosine ≈ 0.998) and 1 % by exact copies so that there are groups;
``--dup-pairs`` also runs the all-pairs reference (``duplicate_groups``) and checks the groups agree.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from typing import Any

import numpy as np

from services.core.settings import Limits
from services.core.types import PointRecord, l2_normalize
from services.jobs.kinds import DuplicatesSource, MapSource
from services.jobs.results import JobResults
from services.jobs.runners.base import JobContext
from services.jobs.runners.collection_map import MapRunner
from services.jobs.runners.duplicates import DuplicatesRunner
from services.query.dedup import duplicate_groups
from services.sources.items import FailedItem
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore


class MemoryResults(JobResults):
    def __init__(self) -> None:
        self.saved: list[tuple[float, str, int]] = []
        self.t0 = time.perf_counter()

        self.data: dict[str, Any] = {}

    def save(self, job_id: str, collection_id: str, kind: str, points: int, data: dict[str, Any]) -> None:
        self.saved.append((time.perf_counter() - self.t0, str(data.get("method", kind)), points))
        self.data = data


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
    ap.add_argument("--sample", type=int, default=Limits().layout_sample_points, help="layout_sample_points")
    ap.add_argument("--batch", type=int, default=Limits().job_batch_points, help="job_batch_points")
    ap.add_argument("--method", choices=["umap", "pca"], default="umap")
    ap.add_argument("--dup-n", type=int, default=20_000, help="points of the duplicates job (0: skip it)")
    ap.add_argument("--dup-pairs", action="store_true", help="also the all-pairs reference, and compare")
    args = ap.parse_args()
    limits = Limits(layout_sample_points=args.sample, job_batch_points=args.batch)
    print(f"cores: {os.cpu_count()}, n={args.n:,}, dim={args.dim}, {args.clusters} clusters, sample {args.sample:,}")
    x = clustered(args.n, args.dim, args.clusters)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None) as tmp:
        if args.n:
            store = EmbeddedStore(os.path.join(tmp, "map"), optimize_after=None)
            store.create_collection(CollectionSpec("bench", args.dim))
            fill(store, "bench", x, alt_text=True)
            results = MemoryResults()
            ctx = JobContext(store=store, results=results, limits=limits)
            src = MapSource(collection_id="c", job_id="j", clusters=0, method=args.method)
            runner = MapRunner(src, "bench", ctx)
            results.t0 = t0 = time.perf_counter()
            c0 = time.process_time()
            runner.run(Quiet())
            total, cpu = time.perf_counter() - t0, time.process_time() - c0
            first = results.saved[0][0]
            d = results.data
            print("map job phases:", {k: v for k, v in runner_timings(results).items()}, d["timings"])
            print(
                f"map of {len(d['ids']):,} points fitted on {d['sample_size']:,} (sampled: {d['sampled']}): "
                f"first (PCA) view stored after {first:.1f} s; whole job ({d['method']}) {total:.1f} s wall, "
                f"{cpu:.1f} s CPU; ratio whole/first {total / first:.1f}x"
            )
            store.close()

        if args.dup_n:
            dup_bench(tmp, x, args, limits)


def fill(store: EmbeddedStore, name: str, x: np.ndarray, alt_text: bool = False) -> None:
    t = time.perf_counter()
    for s in range(0, len(x), 2048):
        store.upsert(
            name,
            [
                PointRecord(str(uuid.uuid4()), {"image": v}, {"alt_text": f"c{i % 7}"} if alt_text else {})
                for i, v in enumerate(x[s : s + 2048], start=s)
            ],
        )
    print(f"upsert {len(x):,}: {time.perf_counter() - t:.1f} s")


def dup_bench(tmp: str, x: np.ndarray, args: argparse.Namespace, limits: Limits) -> None:
    rng = np.random.default_rng(1)
    n = args.dup_n
    y = clustered(n, args.dim, args.clusters, seed=2) if n > len(x) else x[:n].copy()
    near = rng.choice(n, size=n // 50, replace=False)
    y[near] = l2_normalize(y[rng.integers(n, size=len(near))] + 0.05 * rng.normal(size=(len(near), args.dim)) / 8)
    exact = rng.choice(n, size=n // 100, replace=False)
    y[exact] = y[rng.integers(n, size=len(exact))]
    y = y.astype(np.float32)
    sub = EmbeddedStore(os.path.join(tmp, "dup"), optimize_after=None)
    sub.create_collection(CollectionSpec("dup", args.dim))
    fill(sub, "dup", y)
    results = MemoryResults()
    src = DuplicatesSource(collection_id="c", job_id="d", threshold=0.95)
    dup = DuplicatesRunner(src, "dup", JobContext(store=sub, results=results, limits=limits))
    t, c = time.perf_counter(), time.process_time()
    dup.run(Quiet())
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    got = results.data
    print(
        f"duplicates job (batched neighbour searches) at {n:,}: {wall:.1f} s wall, {cpu:.1f} s CPU; "
        f"{got['total_groups']:,} groups, {got['searched']:,} points searched"
    )
    if args.dup_pairs:
        page, _ = sub.scroll("dup", limit=n + 1, with_vectors=True)
        ids = [p.id for p in page]
        rows = np.stack([p.vectors["image"] for p in page]).astype(np.float32)
        t, c = time.perf_counter(), time.process_time()
        pairs = duplicate_groups(rows, 0.95)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        same = {frozenset(ids[i] for i in g.members) for g in pairs} == {frozenset(g["ids"]) for g in got["groups"]}
        print(f"all pairs at {n:,}: {wall:.1f} s wall, {cpu:.1f} s CPU; {len(pairs):,} groups; same groups: {same}")
    sub.close()


def runner_timings(results: MemoryResults) -> dict[str, float]:
    return {f"stored {method} at": round(t, 1) for t, method, _ in results.saved}


if __name__ == "__main__":
    main()
