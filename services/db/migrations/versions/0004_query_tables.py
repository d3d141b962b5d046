"""The query service's tables: saved concepts, prompt templates, cached modality means.

Each row belongs to a collection (``collections.id``, ``ON DELETE CASCADE``). Before this migration
the query service created them itself at first use (with ``create_all``; no longer), so they are
created here only where missing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("query_concepts"):
        op.create_table(
            "query_concepts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("collection_id", sa.String(length=36), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("expression", sa.Text(), nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            sa.Column("model", sa.String(length=256), nullable=False),
            sa.Column("created_by", sa.String(length=256), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("collection_id", "name", name="uq_query_concepts_collection_name"),
        )
        op.create_index(op.f("ix_query_concepts_collection_id"), "query_concepts", ["collection_id"], unique=False)
    if _missing("query_modality_means"):
        op.create_table(
            "query_modality_means",
            sa.Column("collection_id", sa.String(length=36), nullable=False),
            sa.Column("vector", sa.String(length=16), nullable=False),
            sa.Column("points", sa.Integer(), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.Column("mean", sa.LargeBinary(), nullable=False),
            sa.Column("cov", sa.LargeBinary(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("collection_id", "vector"),
        )
    if _missing("query_templates"):
        op.create_table(
            "query_templates",
            sa.Column("collection_id", sa.String(length=36), nullable=False),
            sa.Column("templates", sa.Text(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("collection_id"),
        )


def downgrade() -> None:
    op.drop_table("query_templates")
    op.drop_table("query_modality_means")
    op.drop_index(op.f("ix_query_concepts_collection_id"), table_name="query_concepts")
    op.drop_table("query_concepts")
