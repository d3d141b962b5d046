"""Smoke test of the concurrency benchmark: a small CLIP-like set served by a separate uvicorn process,
client processes over real HTTP, heavy requests beside an ordinary client. Its JSON holds what it promises
(qps, p50/p95 and recall by client count; the GIL probe; every status the heavy requests got). No timing
asserts: the statuses are the point, an ordinary search beside heavy ones is answered, never refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_bench_concurrency_runs_and_the_limits_hold(tmp_path: Path) -> None:
    out = tmp_path / "concurrency.json"
    cmd = [sys.executable, "bench/concurrency.py", "--n", "2000", "--dim", "64", "--queries", "10"]
    cmd += ["--clients", "1,2", "--seconds", "0.6", "--heavy-clients", "2", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert set(res["clients"]) == {"1", "2"}
    for row in res["clients"].values():
        assert row["requests"] > 0 and row["statuses"] == {"200": row["requests"]}
        assert 0 < row["p50_ms"] <= row["p95_ms"] and row["recall_at_10"] >= 0.95
    assert set(res["load"]["store_threads"]) == {"1", "2", "4"}
    assert res["load"]["gil"]["python_progress_during_knn"] >= 0
    beside = res["beside_heavy"]
    assert beside["ordinary"]["requests"] > 0 and set(beside["ordinary"]["statuses"]) == {"200"}
    assert beside["heavy"]["requests"] > 0 and set(beside["heavy"]["statuses"]) <= {"200", "503"}
    assert res["limits_hold"] is True
