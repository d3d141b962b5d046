"""SQLAlchemy engine and session factory: SQLite under the data dir by default, PostgreSQL in server mode.

The schema is owned by Alembic migrations (``services/db/migrations``); ``init_db`` brings a
database to the newest one. Several processes may start at once on an empty database (API replicas,
workers), so the upgrade runs under a lock: a PostgreSQL advisory lock, or a file lock beside a
SQLite file. The others wait, then find the schema current and do nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.orm import DeclarativeBase, sessionmaker

log = logging.getLogger(__name__)

DB_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = DB_DIR / "alembic.ini"
MIGRATIONS_DIR = DB_DIR / "migrations"
# The revision that describes the schema as ``create_all`` made it before migrations existed.
LEGACY_REVISION = "0001"
# pg_advisory_lock key: any constant shared by every Signifier process ("SIGNIFIE" in ASCII).
_PG_LOCK_KEY = 0x5349474E49464945


class Base(DeclarativeBase):
    pass


def _set_wal(cur: sqlite3.Cursor, attempts: int = 100) -> None:
    """Switch to WAL. Switching needs a moment of exclusive access, and SQLite does not apply the busy
    timeout to it: several processes opening a new database at once get "database is locked", so retry."""
    for attempt in range(attempts):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so API threads and jobs can share it."""
    if url.startswith("sqlite"):
        db_path = url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            _set_wal(cur)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package; with ``connection``, migrations run on it."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine, connection: Connection) -> Iterator[None]:
    """Hold the deployment-wide migration lock while the block runs."""
    if engine.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            connection.commit()
        return
    db = engine.url.database
    if engine.dialect.name == "sqlite" and db and db != ":memory:":
        with open(f"{db}.migrate-lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    yield


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest migration (a no-op when it is current)."""
    from alembic import command

    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:  # the common case, without taking the lock
            return
        conn.rollback()
        with _migration_lock(engine, conn):
            current = current_revision(conn)
            if current == head:
                return
            if current is None and inspect(conn).has_table("collections"):
                # Made by create_all before migrations existed: mark it as the first revision.
                log.info("database predates migrations: stamping it %s", LEGACY_REVISION)
                command.stamp(alembic_config(conn), LEGACY_REVISION)
                conn.commit()
            log.info("migrating the accounts database from %s to %s", current or "empty", head)
            command.upgrade(alembic_config(conn), "head")
            conn.commit()


def init_db(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    """Bring the schema to the newest migration and return a session factory."""
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
