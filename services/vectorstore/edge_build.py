"""Build a Qdrant Edge shard's index in a process of its own: ``python -m services.vectorstore.edge_build PATH``.

Qdrant Edge 0.9.0's ``EdgeShard.optimize()`` holds Python's GIL for the whole build (minutes at a million
points), so run in the serving process it would stop every thread of it: searches, other collections, the
HTTP server itself. ``EmbeddedStore`` therefore builds on a copy of the shard in this child process and
swaps the built copy in (see ``EmbeddedStore.optimize``). The child runs at a lower CPU priority, so the
searches it shares the cores with come first.

Prints one JSON line: ``{"optimized": bool, "build_s": float, "peak_rss_mb": float}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time

import qdrant_edge as qe

NICE = 10  # below the serving process, which keeps answering searches while this runs


def build(path: str) -> dict[str, float | bool]:
    shard = qe.EdgeShard.load(path)
    try:
        t0 = time.perf_counter()
        optimized = shard.optimize()
        build_s = time.perf_counter() - t0
        shard.flush()
    finally:
        shard.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"optimized": bool(optimized), "build_s": round(build_s, 3), "peak_rss_mb": round(peak, 1)}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m services.vectorstore.edge_build SHARD_PATH\n")
        return 2
    with contextlib.suppress(OSError):  # not permitted here: build at the same priority
        os.nice(NICE)
    sys.stdout.write(json.dumps(build(argv[0])) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
