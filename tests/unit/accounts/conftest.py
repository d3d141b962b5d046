"""Every accounts test that takes ``db_url`` or ``sessions`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.db.engine import init_db, make_engine
from tests.unit.accounts.support import BACKENDS, fresh_database


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database's session factory; the engine is disposed after the test."""
    engine = make_engine(db_url)
    yield init_db(engine)
    engine.dispose()
