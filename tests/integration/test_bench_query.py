"""Smoke test of the query benchmark: it runs end to end and its exactness claims hold (no timing asserts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_bench_query_runs_and_is_exact(tmp_path: Path) -> None:
    out = tmp_path / "query.json"
    cmd = [sys.executable, "bench/query.py", "--n", "1500", "--dim", "64", "--requests", "20",
           "--baseline-requests", "4", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_")}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "targets met" in proc.stdout
    res = json.loads(out.read_text())
    for kind in ("search3", "opposition", "filtered"):
        assert res["ours"][kind]["recall_at_10"] >= 0.98
        assert res["baseline"][kind]["recall_at_10"] == 1.0
        assert res["ours"][kind]["requests"] == 20 and res["speedup"][kind] > 0
    assert res["ours"]["search3_centered"]["first_call_ms"] > 0
