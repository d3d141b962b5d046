"""Alembic migrations: they build the schema the models describe, upgrade old databases with their rows,
and run once when many processes start together."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import threading
import time
from collections.abc import Iterator

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from services.accounts.principal import LOCAL_OWNER
from services.catalog.collections import CollectionRegistry
from services.db.engine import (
    _PG_LOCK_KEY,
    Base,
    alembic_config,
    current_revision,
    head_revision,
    init_db,
    make_engine,
    migrate,
)
from services.jobs.records import JobStore
from services.tables import register_tables
from services.vectorstore.embedded import EmbeddedStore

TABLES = {"teams", "users", "api_keys", "audit_events", "collections", "jobs", "job_errors", "alembic_version"}


@contextlib.contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_empty_database_is_migrated_to_head(db_url: str) -> None:
    with _engine(db_url) as engine:
        init_db(engine)
        with engine.connect() as c:
            assert current_revision(c) == head_revision()
            assert set(inspect(c).get_table_names()) >= TABLES
            teams = c.execute(text("SELECT id, name FROM teams")).all()
        assert [tuple(t) for t in teams] == [("local", "local")]
        init_db(engine)  # a second start changes nothing


def test_migrations_match_the_models(db_url: str) -> None:
    """A model changed without a migration fails here. Fix: write the migration, e.g.
    ``alembic -c services/db/alembic.ini revision --autogenerate -m "what changed"``."""
    register_tables()
    with _engine(db_url) as engine:
        init_db(engine)
        with engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration for: {diff}"


def test_downgrade_to_the_start_and_back(db_url: str) -> None:
    with _engine(db_url) as engine:
        init_db(engine)
        with engine.begin() as c:
            command.downgrade(alembic_config(c), "base")
        with engine.connect() as c:
            assert set(inspect(c).get_table_names()) <= {"alembic_version"}
        init_db(engine)
        with engine.connect() as c:
            assert current_revision(c) == head_revision()


def test_a_database_from_before_migrations_keeps_its_collections_and_jobs(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``create_all`` databases (no alembic_version) are stamped 0001 and upgraded with their rows."""
    created = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with _engine(db_url) as engine:
        with engine.begin() as c:
            command.upgrade(alembic_config(c), "0001")
            c.execute(text("DROP TABLE alembic_version"))  # as create_all left it
            c.execute(
                text("INSERT INTO collections (name, team, model, dim, created_at) VALUES (:n, 'local', 'm', 4, :t)"),
                {"n": "shapes", "t": created},
            )
            c.execute(
                text(
                    "INSERT INTO jobs (id, collection, team, state, total, done, failed, source, timings, "
                    "created_at, updated_at) VALUES ('j1', 'shapes', 'local', 'done', 3, 3, 0, '{}', '{}', :t, :t)"
                ),
                {"t": created},
            )
        sessions = init_db(engine)
        with engine.connect() as c:
            assert current_revision(c) == head_revision()
        store = EmbeddedStore(tmp_path / "vectors")
        try:
            info = CollectionRegistry(sessions, store).get(LOCAL_OWNER, "shapes")
        finally:
            store.close()
        # the vector store already holds it under its old name, which becomes its store name
        assert (info.name, info.store_name, info.team, info.created_at) == ("shapes", "shapes", "local", created)
        assert JobStore(sessions).get(LOCAL_OWNER, "j1").done == 3


def test_a_job_keeps_its_store_name_as_a_column(db_url: str) -> None:
    """0005: ``source["store"]`` (written by the queue) moves to ``jobs.store_name``; older jobs without it
    get their collection's store name."""
    created = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    insert = text(
        "INSERT INTO jobs (id, collection, team, state, total, done, failed, source, timings, created_at, updated_at) "
        "VALUES (:id, 'shapes', 'local', 'done', 0, 0, 0, :src, '{}', :t, :t)"
    )
    with _engine(db_url) as engine:
        with engine.begin() as c:
            command.upgrade(alembic_config(c), "0004")
            c.execute(
                text(
                    "INSERT INTO collections (id, name, team, store_name, model, dim, created_at) "
                    "VALUES ('c1', 'shapes', 'local', 'local__shapes', 'm', 4, :t)"
                ),
                {"t": created},
            )
            urls = '"kind": "urls", "urls": ["http://x/a.png"]'
            c.execute(insert, {"id": "j1", "src": "{" + urls + ', "store": "s1"}', "t": created})
            c.execute(insert, {"id": "j2", "src": "{" + urls + "}", "t": created})
        sessions = init_db(engine)
        jobs = JobStore(sessions)
        j1, j2 = jobs.get(LOCAL_OWNER, "j1"), jobs.get(LOCAL_OWNER, "j2")
        assert (j1.store_name, j2.store_name) == ("s1", "local__shapes")
        assert "store" not in j1.source_record and j1.source.kind == "urls"  # a valid JobSource again


def _wait_blocked(thread: threading.Thread, engine: Engine) -> None:
    time.sleep(0.7)
    assert thread.is_alive(), "the migration did not wait for the lock"
    with engine.connect() as c:
        assert current_revision(c) is None and not inspect(c).has_table("teams")


def test_migration_waits_for_the_lock_then_runs_once(db_url: str) -> None:
    """Another process holding the migration lock (API and worker pods starting together) makes us wait."""
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with _engine(db_url) as engine:
                migrate(engine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with _engine(db_url) as engine:
        if engine.dialect.name == "postgresql":
            holder = create_engine(engine.url, isolation_level="AUTOCOMMIT")
            with holder.connect() as c:
                c.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
                t = threading.Thread(target=start)
                t.start()
                _wait_blocked(t, engine)
                c.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            holder.dispose()
        else:
            with open(f"{engine.url.database}.migrate-lock", "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                t = threading.Thread(target=start)
                t.start()
                _wait_blocked(t, engine)
                fcntl.flock(fh, fcntl.LOCK_UN)
        t.join(60)
        assert not errors and not t.is_alive()
        with engine.connect() as c:
            assert current_revision(c) == head_revision()


def test_many_processes_starting_at_once_all_succeed(db_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            with _engine(db_url) as engine:
                barrier.wait()
                init_db(engine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with _engine(db_url) as engine, engine.connect() as c:
        assert current_revision(c) == head_revision()
        assert c.execute(text("SELECT count(*) FROM teams")).scalar() == 1
