"""Prometheus metrics, exported at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INGEST_STAGE_SECONDS = Histogram(
    "signifier_ingest_stage_seconds",
    "Time spent per ingestion stage and batch (decode is summed over decode threads).",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_ITEMS = Counter(
    "signifier_ingest_items_total",
    "Items ingested, by outcome: stored (written now), already_stored (same content was in the collection: "
    "not embedded or written again), failed.",
    ["outcome"],
)
QUERY_SECONDS = Histogram(
    "signifier_query_seconds",
    "Search latency by phase (parse, resolve, compose, knn, total).",
    ["phase"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
TEXT_CACHE = Counter("signifier_text_cache_total", "Text-embedding cache lookups, by result.", ["result"])
