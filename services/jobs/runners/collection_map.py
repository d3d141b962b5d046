"""Map job: a 2-D layout of a collection's vectors, stored twice: PCA at once, then UMAP over it.

Progress: the job's total is twice the points; reading them counts the first half, the finished
layout the second (UMAP gives no finer progress). The PCA view is stored as soon as the vectors are
read, so ``GET .../map`` shows a first map while UMAP runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from services.core.types import Vector
from services.ingest.runner import Reporter
from services.jobs.kinds import MapSource
from services.jobs.runners.base import ChunkSpec, JobContext, RunOutcome
from services.jobs.runners.collection_scan import CollectionScanRunner, Scanned
from services.query.layout import (
    UMAP_NEIGHBOURS,
    default_clusters,
    distinctive_words,
    kmeans,
    pca_2d,
    umap_2d,
    vocabulary_names,
)


class MapRunner(CollectionScanRunner):
    def __init__(self, source: MapSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    def count(self) -> int:
        return 2 * self.store().count(self.store_name)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        yield {}, self.count()

    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        src = self.source
        points = self.store().count(self.store_name)
        t0 = time.perf_counter()
        scanned = self.read(src.vector, reporter, lambda b, n: reporter.progress(n, [], batch=b, timings={}))
        if scanned is None:
            return RunOutcome(cancelled=True)
        n = len(scanned.ids)
        t_read = time.perf_counter() - t0
        labels, centroids = kmeans(scanned.x, src.clusters or default_clusters(n))
        clusters = self._clusters(scanned, labels, centroids)
        pca = pca_2d(scanned.x)
        t_pca = time.perf_counter() - t0 - t_read
        timings = {"read_seconds": round(t_read, 3), "pca_seconds": round(t_pca, 3)}
        umap_wanted = src.method == "umap" and n > UMAP_NEIGHBOURS + 1
        self._save(points, scanned, "pca", pca, labels, clusters, timings, final=not umap_wanted)
        layout = pca
        if umap_wanted:
            if reporter.cancelled():
                return RunOutcome(n, cancelled=True)
            t1 = time.perf_counter()
            layout = umap_2d(scanned.x, pca)
            timings["umap_seconds"] = round(time.perf_counter() - t1, 3)
            self._save(points, scanned, "umap", layout, labels, clusters, timings, final=True)
        reporter.progress(points, [], batch=1_000_000, timings={})  # the layout half of the total
        return RunOutcome(n)

    def _clusters(self, scanned: Scanned, labels: np.ndarray, centroids: Vector) -> list[dict[str, Any]]:
        src = self.source
        k = len(centroids)
        texts = [str(p.get("alt_text") or "") for p in scanned.payloads]
        top_words = distinctive_words(texts, labels, k)
        named = vocabulary_names(centroids, src.vectors(), src.vocabulary, src.logit_scale) if src.vocabulary else None
        out = []
        for c in range(k):
            entry: dict[str, Any] = {"id": c, "size": int(np.sum(labels == c)), "words": top_words[c]}
            if named is not None:
                entry["label"], entry["probability"] = named[c].label, round(named[c].probability, 4)
            else:
                entry["label"] = " ".join(top_words[c]) or f"cluster {c}"
            out.append(entry)
        return out

    def _save(
        self,
        points: int,
        scanned: Scanned,
        method: str,
        xy: Vector,
        labels: np.ndarray,
        clusters: list[dict[str, Any]],
        timings: dict[str, float],
        *,
        final: bool,
    ) -> None:
        src = self.source
        xy = np.asarray(xy, dtype=np.float64)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        unit = (xy - lo) / np.where(hi > lo, hi - lo, 1.0)  # both axes in [0, 1]
        placed = []
        for c in clusters:  # a cluster's label sits at its members' median position
            members = unit[labels == c["id"]]
            cx, cy = np.median(members, axis=0) if len(members) else (0.5, 0.5)
            placed.append({**c, "x": round(float(cx), 4), "y": round(float(cy), 4)})
        data = {
            "method": method,
            "final": final,
            "vector": src.vector,
            "left_out": scanned.left_out,
            "ids": scanned.ids,
            "x": [round(float(v), 4) for v in unit[:, 0]],
            "y": [round(float(v), 4) for v in unit[:, 1]],
            "cluster": [int(c) for c in labels],
            "clusters": placed,
            "timings": timings,
        }
        self.results().save(src.job_id, src.collection_id, "map", points, data)
