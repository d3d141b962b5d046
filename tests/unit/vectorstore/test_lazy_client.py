"""Embedded mode never loads qdrant-client: importing it costs about a second of CPU on every CLI command,
worker and server start."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_api_and_workers_import_without_qdrant_client() -> None:
    code = (
        "import sys, services.cli.main, services.runtime, services.api.app, workers.tasks; "
        "print('qdrant_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_server_filter_target_is_still_there_on_first_use() -> None:
    from qdrant_client import models

    from services.vectorstore.conversions import qdrant_filter
    from services.vectorstore.filters import parse_filter

    f = qdrant_filter(parse_filter({"colour": "red"}))
    assert isinstance(f, models.Filter)
