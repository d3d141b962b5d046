"""Fresh accounts databases for tests: a SQLite file, or a new PostgreSQL database per test.

PostgreSQL comes from ``SIGNIFIER_TEST_DATABASE_URL`` (``.ci/run`` starts the distribution's server on
127.0.0.1:5433 and sets it). Each test gets a database of its own, named after this run, created
from ``template0`` and dropped afterwards (``WITH (FORCE)``), so reruns and parallel runs never meet
each other's rows.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from services.accounts.principal import ROLES

PG_ENV = "SIGNIFIER_TEST_DATABASE_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
_RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL to test against (.ci/run starts one and sets it)")
    return url


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    base = make_url(postgres_url())
    name = f"signifier_t_{_RUN}_{next(_counter)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of ``backend`` (``sqlite`` or ``postgres``)."""
    if backend == "postgres":
        with fresh_postgres() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / f'accounts-{next(_counter)}.db'}"


@dataclass
class Team:
    """A team made for a test, with one key per role (``keys["owner"]`` …) and their headers."""

    name: str
    id: str
    keys: dict[str, str]

    def h(self, role: str = "owner") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_team(runtime: Any, name: str, **quota: int) -> Team:
    """Create team ``name`` as the operator, with an owner, an editor and a viewer key."""
    from services.accounts.principal import operator

    op = operator("test")
    team = runtime.accounts.create_team(op, name, **quota)
    keys = {role: runtime.accounts.create_key(op, role, team=name, name=role).key for role in ROLES}
    return Team(name, team.id, keys)


@contextlib.contextmanager
def auth_app(backend: str, tmp_path: Path, encoder: Any, **overrides: Any) -> Iterator[Any]:
    """The real app (Qdrant Edge, the given encoder) with ``SIGNIFIER_AUTH=required`` on a fresh database."""
    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from tests.conftest import make_settings

    overrides.setdefault("auth", "required")
    with fresh_database(backend, tmp_path) as url:
        settings = make_settings(tmp_path / "data", database_url=url, **overrides)
        with TestClient(create_app(settings, encoder=encoder)) as client:
            yield client


def wait_job(client: Any, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    client.app.state.runtime.queue.wait(job_id, timeout=300)
    job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
    assert job["state"] == "done", job
    return job
