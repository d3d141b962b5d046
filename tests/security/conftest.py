"""Fixtures: ``shared_server`` is one real server per module (two teams, keys of every role)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import SharedServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    with SharedServer(tmp_path_factory.mktemp("shared")) as server:
        yield server


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[type[SharedServer]]:
    """Build (and stop at the end) servers with a test's own environment: ``make_server(env={...})``."""
    made: list[SharedServer] = []

    def build(env: dict[str, str | None] | None = None, **kw: object) -> SharedServer:
        server = SharedServer(tmp_path / f"s{len(made)}", env=env, **kw)  # type: ignore[arg-type]
        made.append(server)
        return server

    yield build  # type: ignore[misc]
    for s in made:
        s.stop()
