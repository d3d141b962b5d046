"""Jobs count the items a collection held already (``jobs.skipped``, ``job_batches.skipped``): a re-ingest of
the same files stores nothing new, and its record says so instead of counting them as stored again.

Existing records get 0 (what they did is not known; their ``done`` stays as it was).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    for table in ("jobs", "job_batches"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in ("jobs", "job_batches"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("skipped")
