"""Map job: a 2-D layout of a collection's vectors, stored twice: PCA at once, then UMAP over it.

Up to ``Limits.layout_sample_points`` points, PCA, k-means and UMAP are fitted on every point, held in
memory. Above it they are fitted on a stated sample of that many (the points whose ids follow a seeded
random id in id order: ids are content hashes, so a uniform sample; ``services/query/scan.py``), and every
point is then placed by streaming the collection through the fitted models a batch at a time
(``Limits.job_batch_points``): the PCA projection, the nearest centroid, ``umap.UMAP.transform``. The map
says how many points the layout was fitted on (``sample_size``, ``sampled``, ``seed``); memory holds the
sample's vectors, one batch, and an id and coordinates per point. Cluster words come from the sample's
alt-texts; cluster sizes count every point.

Progress: the job's total is twice the points. Held in memory: reading counts the first half, the
finished layout the second (UMAP gives no finer progress). Sampled: placing every point by PCA counts the
first half, placing it by UMAP the second. The PCA view is stored as soon as every point has a PCA place,
so ``GET .../map`` shows a first map while UMAP runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.core.errors import InvalidInput
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
    nearest_labels,
    pca_fit,
    umap_fit,
    umap_place,
    vocabulary_names,
)
from services.query.scan import pages, scan, vectors_of

SAMPLE_SEED = 0  # where the sample starts: the same collection gives the same sample, and the same map
TRANSFORM_ROWS = 8_192  # points placed by one umap transform call (each call has a fixed cost)


@dataclass(frozen=True)
class _View:
    """What both stored views of one map share: the placed ids, their clusters, the sample."""

    points: int
    ids: list[str]
    left_out: int
    labels: np.ndarray
    clusters: list[dict[str, Any]]
    sample_size: int
    sampled: bool


class MapRunner(CollectionScanRunner):
    def __init__(self, source: MapSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source
        self._batch = 0

    def count(self) -> int:
        return 2 * self.store().count(self.store_name)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        yield {}, self.count()

    def _progress(self, reporter: Reporter, points: int) -> None:
        reporter.progress(points, [], batch=self._batch, timings={})
        self._batch += 1

    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        src, limits, store = self.source, self.ctx.limits, self.store()
        points = store.count(self.store_name)
        t0 = time.perf_counter()
        batches, coverage = scan(
            store, self.store_name, limits.layout_sample_points, page_size=limits.job_batch_points, seed=SAMPLE_SEED
        )
        sampled = coverage.sampled
        sample = self._read(batches, reporter, count=not sampled)
        if sample is None:
            return RunOutcome(cancelled=True)
        m = len(sample.ids)
        t_read = time.perf_counter() - t0
        sample_labels, centroids = kmeans(sample.x, src.clusters or default_clusters(m))
        pca = pca_fit(sample.x)
        timings = {"read_seconds": round(t_read, 3)}
        if sampled:
            placed = self._place_all(reporter, sample, pca, centroids)
            if placed is None:
                return RunOutcome(cancelled=True)
            ids, pca_xy, labels, left_out = placed
            timings["place_pca_seconds"] = round(time.perf_counter() - t0 - t_read, 3)
        else:
            ids, pca_xy, labels, left_out = sample.ids, pca.project(sample.x), sample_labels, sample.left_out
        timings["pca_seconds"] = round(time.perf_counter() - t0 - t_read, 3)
        clusters = self._clusters(sample, sample_labels, labels, centroids)
        view = _View(points, ids, left_out, labels, clusters, m, sampled)
        umap_wanted = src.method == "umap" and m > UMAP_NEIGHBOURS + 1
        self._save(view, "pca", pca_xy, timings, final=not umap_wanted)
        if umap_wanted:
            if reporter.cancelled():
                return RunOutcome(len(ids), cancelled=True)
            t1 = time.perf_counter()
            model = umap_fit(sample.x, pca.project(sample.x))
            timings["umap_seconds"] = round(time.perf_counter() - t1, 3)
            if sampled:
                layout = self._umap_all(reporter, sample, model, ids)
                if layout is None:
                    return RunOutcome(len(ids), cancelled=True)
                timings["umap_place_seconds"] = round(time.perf_counter() - t1 - timings["umap_seconds"], 3)
            else:
                layout = np.asarray(model.embedding_, dtype=np.float32)
            self._save(view, "umap", layout, timings, final=True)
        if not (sampled and umap_wanted):
            self._progress(reporter, points)  # the layout half of the total
        return RunOutcome(len(ids))

    def _read(self, batches: Iterator[list[Any]], reporter: Reporter, *, count: bool) -> Scanned | None:
        using = self.source.vector
        ids: list[str] = []
        rows: list[Vector] = []
        payloads: list[dict[str, Any]] = []
        left_out = 0
        for page in batches:
            if reporter.cancelled():
                return None
            kept, x = vectors_of(page, using)
            left_out += len(page) - len(kept)
            if kept:
                ids += [p.id for p in kept]
                rows.append(x)
                payloads += [p.payload for p in kept]
            if count:
                self._progress(reporter, len(page))
        if not ids:
            raise InvalidInput(f"the collection has no points with a {using} vector")
        return Scanned(ids, np.concatenate(rows).astype(np.float32), payloads, left_out)

    def _place_all(
        self, reporter: Reporter, sample: Scanned, pca: Any, centroids: Vector
    ) -> tuple[list[str], Vector, np.ndarray, int] | None:
        """Every point's PCA place and cluster, streamed; None if cancelled."""
        ids: list[str] = []
        xy: list[Vector] = []
        labels: list[np.ndarray] = []
        left_out = 0
        for page in pages(self.store(), self.store_name, page_size=self.ctx.limits.job_batch_points):
            if reporter.cancelled():
                return None
            kept, x = vectors_of(page, self.source.vector)
            left_out += len(page) - len(kept)
            if kept:
                ids += [p.id for p in kept]
                xy.append(pca.project(x))
                labels.append(nearest_labels(x, centroids))
            self._progress(reporter, len(page))
        return ids, np.concatenate(xy), np.concatenate(labels), left_out

    def _umap_all(self, reporter: Reporter, sample: Scanned, model: Any, ids: list[str]) -> Vector | None:
        """Every point of ``ids`` placed in the UMAP layout: the sample where it was fitted, the rest by
        ``transform`` (``TRANSFORM_ROWS`` at a time), streamed; a point that arrived since the PCA pass is
        left out. None if cancelled."""
        fitted = np.asarray(model.embedding_, dtype=np.float32)
        where = {pid: i for i, pid in enumerate(ids)}
        in_sample = {pid: i for i, pid in enumerate(sample.ids)}
        out = np.zeros((len(ids), 2), dtype=np.float32)
        rows: list[int] = []  # positions in ``out`` of the buffered vectors
        buffered: list[Vector] = []
        pending = 0  # points read since the last progress report

        def flush() -> None:
            nonlocal pending
            if buffered:
                out[np.asarray(rows)] = umap_place(model, np.concatenate(buffered))
                rows.clear()
                buffered.clear()
            self._progress(reporter, pending)
            pending = 0

        for page in pages(self.store(), self.store_name, page_size=self.ctx.limits.job_batch_points):
            if reporter.cancelled():
                return None
            kept, x = vectors_of(page, self.source.vector)
            fresh = []
            for r, p in enumerate(kept):
                if p.id in in_sample:
                    out[where[p.id]] = fitted[in_sample[p.id]]
                elif p.id in where:
                    fresh.append(r)
                    rows.append(where[p.id])
            if fresh:
                buffered.append(x[np.asarray(fresh)])
            pending += len(page)
            if len(rows) >= TRANSFORM_ROWS:
                flush()
        flush()
        return out

    def _clusters(
        self, sample: Scanned, sample_labels: np.ndarray, labels: np.ndarray, centroids: Vector
    ) -> list[dict[str, Any]]:
        src = self.source
        k = len(centroids)
        texts = [str(p.get("alt_text") or "") for p in sample.payloads]
        top_words = distinctive_words(texts, sample_labels, k)
        named = vocabulary_names(centroids, src.vectors(), src.vocabulary, src.logit_scale) if src.vocabulary else None
        sizes = np.bincount(labels, minlength=k)
        out = []
        for c in range(k):
            entry: dict[str, Any] = {"id": c, "size": int(sizes[c]), "words": top_words[c]}
            if named is not None:
                entry["label"], entry["probability"] = named[c].label, round(named[c].probability, 4)
            else:
                entry["label"] = " ".join(top_words[c]) or f"cluster {c}"
            out.append(entry)
        return out

    def _save(self, view: _View, method: str, xy: Vector, timings: dict[str, float], *, final: bool) -> None:
        src = self.source
        xy = np.asarray(xy, dtype=np.float64)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        unit = (xy - lo) / np.where(hi > lo, hi - lo, 1.0)  # both axes in [0, 1]
        placed = []
        for c in view.clusters:  # a cluster's label sits at its members' median position
            members = unit[view.labels == c["id"]]
            cx, cy = np.median(members, axis=0) if len(members) else (0.5, 0.5)
            placed.append({**c, "x": round(float(cx), 4), "y": round(float(cy), 4)})
        data = {
            "method": method,
            "final": final,
            "vector": src.vector,
            "left_out": view.left_out,
            "sample_size": view.sample_size,
            "sampled": view.sampled,
            "seed": SAMPLE_SEED,
            "ids": view.ids,
            "x": [round(float(v), 4) for v in unit[:, 0]],
            "y": [round(float(v), 4) for v in unit[:, 1]],
            "cluster": [int(c) for c in view.labels],
            "clusters": placed,
            "timings": dict(timings),
        }
        self.results().save(src.job_id, src.collection_id, "map", view.points, data)
