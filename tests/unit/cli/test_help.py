"""``signifier --help`` as a user reads it: flags take no value, so no value type is shown beside them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli.main import app


@pytest.mark.parametrize("command", [["search"], ["ingest"], ["collections", "delete"], []])
def test_flags_show_no_bool_type(command: list[str]) -> None:
    res = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert "--help" in res.output
    assert "<bool>" not in res.output
    if command == ["search"]:
        assert "<int>" in res.output  # options that take a value still show its type
