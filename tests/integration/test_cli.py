"""The ``signifier`` command end to end, as a user runs it (subprocesses, the bundled model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(args: list[str], data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIGNIFIER_DATA_DIR": str(data_dir), "SIGNIFIER_MODEL": "shapes-clip", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_samples_ingest_search_collections(tmp_path: Path) -> None:
    samples, data = tmp_path / "samples", tmp_path / "data"
    _run(["samples", "shapes", "--count", "120", "--out", str(samples), "--seed", "7"], data)
    assert len(list(samples.glob("*.png"))) == 120 and (samples / "manifest.jsonl").is_file()
    (samples / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = _run(["ingest", str(samples), "--collection", "shapes"], data, check=False)
    assert "120 stored, 1 failed of 121" in out.stdout and "broken.png" in out.stdout
    assert out.returncode == 1, "an ingest with failed items exits 1"
    (samples / "broken.png").unlink()
    again = _run(["ingest", str(samples), "--collection", "shapes"], data)
    assert "0 stored, 120 already stored, 0 failed of 120" in again.stdout, again.stdout
    query = '"a red circle" - "red" + "blue"'
    res = json.loads(_run(["search", query, "-c", "shapes", "-n", "10", "--json"], data).stdout)
    blue = [h for h in res["hits"] if "blue" in h["payload"]["alt_text"]]
    assert len(blue) >= 9
    listing = _run(["collections", "list"], data).stdout
    assert "shapes" in listing and "121" not in listing and "120" in listing


def test_cli_errors_are_one_clear_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = _run(["search", '"red" +', "-c", "nope"], data, check=False)
    assert bad.returncode == 1 and "collection 'nope' does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = _run(["ingest", str(tmp_path / "missing"), "-c", "x"], data, check=False)
    assert missing.returncode == 1 and "path not found" in missing.stderr and "Traceback" not in missing.stderr


def test_search_prints_whole_ids_and_hints_at_an_empty_collection(tmp_path: Path) -> None:
    samples, data = tmp_path / "samples", tmp_path / "data"
    _run(["samples", "shapes", "--count", "6", "--out", str(samples)], data)
    _run(["ingest", str(samples), "-c", "few"], data)
    hits = json.loads(_run(["search", '"a circle"', "-c", "few", "--json"], data).stdout)["hits"]
    table = _run(["search", '"a circle"', "-c", "few"], data).stdout
    assert hits and all(h["id"] in table for h in hits)
    # The printed id is one image("...") accepts.
    again = _run(["search", f'image("{hits[0]["id"]}")', "-c", "few", "--json"], data).stdout
    assert json.loads(again)["hits"][0]["id"] == hits[0]["id"]
    # A filter on a key no point has finds nothing, and the CLI says why.
    typo = _run(["search", '"a circle"', "-c", "few", "--filter", '{"sorce": "x"}'], data)
    assert "warning: filter key 'sorce' is not a payload key of collection 'few'" in " ".join(typo.stderr.split())
    assert "did you mean 'source'?" in " ".join(typo.stderr.split())
    bad = _run(["search", '"a circle"', "-c", "few", "--filter", "{colr"], data, check=False)
    assert bad.returncode == 1 and "--filter is not valid JSON" in bad.stderr
    _run(["collections", "create", "empty"], data)
    empty = _run(["search", '"a circle"', "-c", "empty"], data)
    assert "collection 'empty' is empty" in empty.stderr and "signifier ingest" in empty.stderr


def _serve(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SIGNIFIER_DATA_DIR": str(data), "SIGNIFIER_MODEL": "shapes-clip", **env}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args, "serve", "--port", "0"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_with_a_model_that_cannot_load_is_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    proc = _serve(tmp_path / "data", SIGNIFIER_MODEL=missing)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: could not load model") and missing in lines[0], lines
    verbose = _serve(tmp_path / "data", "--verbose", SIGNIFIER_MODEL=missing)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr and "ModelLoadError" in verbose.stderr


def test_a_cuda_device_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = _serve(tmp_path / "data", SIGNIFIER_DEVICE="cuda")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "SIGNIFIER_DEVICE=cuda" in lines[0] and "no usable CUDA device" in lines[0], lines
    listing = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "collections", "list"],
        env={**os.environ, "SIGNIFIER_DATA_DIR": str(tmp_path / "d2"), "SIGNIFIER_DEVICE": "cuda"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 1 and "Traceback" not in listing.stderr and "no usable CUDA" in listing.stderr


def test_an_uncached_hub_model_without_network_fails_fast_and_once(tmp_path: Path) -> None:
    """The default model, not in an (empty) Hugging Face cache, with the hub unreachable (a closed local
    port): one error line at once, not ~40 s of retries with every warning printed twice."""
    unset = ("SIGNIFIER_MODEL", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env |= {
        "SIGNIFIER_DATA_DIR": str(tmp_path / "data"),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "collections", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Retrying" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the local Hugging Face cache" in lines[0], lines
    assert "127.0.0.1:9 cannot be reached" in lines[0]


def test_seeing_meaning_commands_against_a_server(live: Any, live_shapes: str) -> None:
    """search's dedup/diversity/relative options, plane, sweep, map and duplicates, as ``--api`` calls to a
    live server (in this process through typer's runner: no model to load per command)."""
    from typer.testing import CliRunner

    from services.cli.main import app as cli

    server, _ = live
    remote = ["-c", live_shapes, "--api", server.url, "--key", server.keys[("alpha", "owner")]]
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, [*args, *remote])
        assert result.exit_code == code, result.output
        return result.output

    def as_json(*args: str) -> Any:
        return json.loads(run(*args, "--json"))

    plain = [h["id"] for h in as_json("search", '"a circle"', "-n", "6")["hits"]]
    assert [
        h["id"] for h in as_json("search", '"a circle"', "-n", "6", "--dedup", "--dedup-threshold", "-1")["hits"]
    ] == plain[:1]
    assert [h["id"] for h in as_json("search", '"a circle"', "-n", "6", "--diversity", "0")["hits"]] == plain
    rel = as_json("search", '"a circle"', "-n", "6", "--min-z", "-100", "--background", '"qwpoeiruty"')
    assert rel["relative"]["sample"] == 60 and rel["relative"]["background"] and all("z" in h for h in rel["hits"])
    table = run("search", '"a circle"', "-n", "3", "--relative")
    assert "z and percentile against 60 sampled of 60 points" in " ".join(table.split())

    x, y = ["--x", '"large"', '"small"'], ["--y", '"red"', '"blue"']
    plane = as_json("plane", *x, *y)
    assert plane["placed"] == 60 and {(q["x"], q["y"]) for q in plane["quadrants"]} == {
        ("a", "a"),
        ("a", "b"),
        ("b", "a"),
        ("b", "b"),
    }
    printed = " ".join(run("plane", *x, *y, "--extremes", "1").split())
    assert 'x = "large" − "small" y = "red" − "blue" 60 points placed' in printed and "quadrant" in printed

    sweep = as_json("sweep", '"a circle"', "--term", '"red"', "--weights", "0,-1", "-n", "4")
    assert [h["id"] for h in sweep["steps"][0]["hits"]] == plain[:4]
    assert "w = -1" in run("sweep", '"a circle"', "--term", '"red"', "--weights", "0,-1")
    bad = run("sweep", '"a circle"', "--term", '"red"', "--weights", "0,x", code=1)
    assert "--weights must be comma-separated numbers" in bad

    shown = " ".join(run("map", "--method", "pca", "--clusters", "2", "--vocabulary", "circle,star").split())
    assert "map of 'shapes': pca, 60 points" in shown
    m = as_json("map", "--read")
    assert len(m["ids"]) == 60 and {c["label"] for c in m["clusters"]} <= {"circle", "star"}
    dup = " ".join(run("duplicates", "--threshold", "0.9").split())
    assert "duplicates among 60 points (cosine ≥ 0.9" in dup
    assert as_json("duplicates", "--read")["threshold"] == 0.9
    assert "--no-follow needs --api" in runner.invoke(cli, ["map", "-c", live_shapes, "--no-follow"]).output
