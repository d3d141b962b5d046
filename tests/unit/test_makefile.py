"""``make demo`` uses the CLI's default data dir, so the README's CLI commands find its collection."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_demo_ingests_and_serves_on_the_default_data_dir() -> None:
    plan = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    lines = [line for line in plan.splitlines() if "signifier ingest" in line or "signifier serve" in line]
    assert len(lines) == 2, plan
    assert all("SIGNIFIER_DATA_DIR" not in line for line in lines), lines
    assert Settings.model_fields["data_dir"].default == Path("./data")
