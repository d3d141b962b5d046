"""A live ``signifier serve`` (its own process, the bundled model, two teams' keys) with a 60-image shapes
collection, shared by the Python client's and the CLI's ``--api`` tests: one server start per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.shapes.world import write_samples
from signifier import Client
from tests.security.support import SharedServer


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SharedServer, Client]]:
    server = SharedServer(tmp_path_factory.mktemp("pyclient"))
    with server, Client(server.url, api_key=server.keys[("alpha", "owner")]) as client:
        yield server, client


@pytest.fixture(scope="session")
def live_shapes(live: tuple[SharedServer, Client]) -> str:
    """The name of alpha's collection of 60 shapes (seed 7) on the live server."""
    server, client = live
    folder = server.roots / "alpha" / "shapes"
    write_samples(folder, 60, seed=7)
    job = client.ingest("shapes", folder).wait(poll_s=0.2, timeout_s=180)
    assert job.state == "done" and job.done == 60 and (job.stored, job.skipped) == (60, 0), job
    return "shapes"
