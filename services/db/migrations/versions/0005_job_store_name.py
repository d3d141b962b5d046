"""The store's name for a job's collection becomes a column (``jobs.store_name``), no longer a key the
queue wrote into the job's source record.

Existing records are backfilled from ``source["store"]`` where it is set (else the collection's own
store name from ``collections``), and the key is dropped from the source, which is now a validated
``JobSource`` (services/jobs/kinds.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_jobs = sa.table(
    "jobs",
    sa.column("id", sa.String),
    sa.column("collection", sa.String),
    sa.column("team", sa.String),
    sa.column("source", sa.JSON),
    sa.column("store_name", sa.String),
)
_collections = sa.table(
    "collections", sa.column("team", sa.String), sa.column("name", sa.String), sa.column("store_name", sa.String)
)


def _record(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # some drivers hand JSON back as text
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("store_name", sa.String(length=128), nullable=False, server_default=""))
    bind = op.get_bind()
    stores = {
        (t, n): s
        for t, n, s in bind.execute(sa.select(_collections.c.team, _collections.c.name, _collections.c.store_name))
    }
    rows = bind.execute(sa.select(_jobs.c.id, _jobs.c.collection, _jobs.c.team, _jobs.c.source)).all()
    for job_id, collection, team, raw in rows:
        source = _record(raw)
        store = source.pop("store", None) or stores.get((team, collection)) or ""
        source.pop("cleanup", None)  # never set by any route; no longer read
        bind.execute(sa.update(_jobs).where(_jobs.c.id == job_id).values(store_name=str(store), source=source))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_jobs.c.id, _jobs.c.source, _jobs.c.store_name)).all()
    for job_id, raw, store in rows:
        source = _record(raw)
        if store:
            source["store"] = store
        bind.execute(sa.update(_jobs).where(_jobs.c.id == job_id).values(source=source))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("store_name")
