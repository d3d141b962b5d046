"""Smoke test of the scale benchmark: it runs end to end on a small CLIP-like set and its JSON holds what it
promises (recall per query kind, latencies, throughput by client count, build figures). No timing asserts.
The peers run only where the ``bench`` extra (faiss-cpu, usearch) is installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PEERS = all(importlib.util.find_spec(m) is not None for m in ("faiss", "usearch"))


def test_bench_scale_runs_and_reports_every_kind(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    cmd = [
        sys.executable,
        "bench/scale.py",
        "--n",
        "3000",
        "--dim",
        "64",
        "--queries",
        "10",
        "--seconds",
        "0.3",
        "--clients",
        "1,2",
        "--efs",
        "32",
        "--local-n",
        "500",
        "--out",
        str(out),
    ]
    if not PEERS:
        cmd.append("--no-peers")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    ours = res["ours"]
    for kind in ("image", "text", "composite", "opposition", "filtered_s1", "filtered_s10", "filtered_s50"):
        assert ours[kind]["recall_at_10"] >= 0.95, (kind, ours[kind])
        assert 0 < ours[kind]["p50_ms"] <= ours[kind]["p95_ms"]
        assert 0 < ours[kind]["knn_p50_ms"] <= ours[kind]["p50_ms"]  # each request's kNN is part of it
    assert set(ours["qps"]) == {"1", "2"} and all(v > 0 for v in ours["qps"].values())
    assert set(ours["clients"]) == {"1", "2"}
    assert all(0 < r["p50_ms"] <= r["p95_ms"] and r["qps"] == ours["qps"][c] for c, r in ours["clients"].items())
    assert ours["build"]["build_s"] >= 0 and ours["build"]["peak_rss_mb"] > 0
    phases = ours["build"]["phases"]  # the store built out of process, and says how each step went
    assert phases["copy_s"] >= 0 and phases["build_s"] >= 0 and phases["replayed_writes"] == 0
    assert ours["build"]["child_peak_rss_mb"] > 0
    engine = ours["engine"]  # each unfiltered kind straight on the shard, by hnsw_ef
    assert {"image_ef256", "opposition_ef768"} <= set(engine)
    assert engine["text_ef512"]["recall_at_10"] >= 0.95 and engine["opposition_ef512"]["p50_ms"] > 0
    gil = ours["gil"]  # a ticking thread beside searches: the figures are there (their size is the finding)
    assert gil["searches"] == 50 and gil["ticks_per_ms_idle"] > 0 and gil["ticks_per_ms_searching"] >= 0
    probe = ours["engine_filtered"]
    assert set(probe) == {"s1", "s10-s1", "s10", "s50-s10", "s50", "not-s50", "not-s10", "not-s1"}
    # Each filter keeps the share its rows say (nested labels: s1 ⊂ s10 ⊂ s50), measured at each beam and
    # at the store's own choice; at 3,000 points every filtered subset is small, so even the narrowest is exact.
    shares = {k: r["share"] for k, r in probe.items()}
    assert shares["s10"] == pytest.approx(shares["s10-s1"] + shares["s1"], abs=2e-4)
    assert shares["not-s50"] == pytest.approx(1 - shares["s50"], abs=2e-4)
    for row in probe.values():
        assert {"ef384", "ef1536", "store"} <= set(row)
        assert row["store"]["recall_at_10"] >= 0.95
    assert 0.2 < res["generator"]["stats"]["matched_image_text"] < 0.3
    if PEERS:
        assert res["peers"]["faiss_flat"]["recall_at_10"] == 1.0
        assert res["peers"]["qdrant_local"]["text"]["recall_at_10"] == 1.0
        assert "32" in res["peers"]["usearch"]["by_ef"]


def test_bench_scale_local_only_runs_local_mode_alone(tmp_path: Path) -> None:
    out = tmp_path / "local.json"
    cmd = [sys.executable, "bench/scale.py", "--n", "2000", "--dim", "32", "--queries", "10"]
    cmd += ["--local-only", "--local-n", "1500", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    local = res["peers"]["qdrant_local"]
    assert local["n"] == 1500 and local["upsert_s"] >= 0
    assert local["text"]["recall_at_10"] == 1.0  # local mode scans: exact
    assert "ours" not in res
