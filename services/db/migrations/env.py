"""Alembic environment: migrations run on the connection Signifier hands in, or on the settings' database.

Signifier calls the migrations itself (``services.db.engine.init_db``), passing a connection that
already holds the migration lock; the ``alembic`` command line gets an engine from the settings.
"""

from __future__ import annotations

import logging.config

from alembic import context

from services.db.engine import Base, make_engine
from services.tables import register_tables

config = context.config
register_tables()
target_metadata = Base.metadata


def _database_url() -> str:
    from services.core.settings import Settings

    return config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url


def _configure(**kwargs: object) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True, **kwargs)  # type: ignore[arg-type]


def run_offline() -> None:
    """``alembic upgrade head --sql``: print the SQL for the settings' database kind."""
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    if config.config_file_name is not None:
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = make_engine(_database_url())
    with engine.connect() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
