"""Job results: what a job computed about a collection (the collection map, duplicate groups).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "job_results",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    with op.batch_alter_table("job_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_results_collection_id"), ["collection_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_results_collection_id"))
    op.drop_table("job_results")
