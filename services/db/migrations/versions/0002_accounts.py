"""Accounts: teams, users, API keys, the audit log; collections named per team.

Collections were one global namespace (``name`` the key, and the vector store's name). Now a
collection is (team, name), with its own id and a deployment-unique ``store_name``. Existing
collections keep their store collection: their ``store_name`` is their old name. Every team a row
mentions gets a ``teams`` row (``local``, embedded mode's team, always exists).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

LOCAL_TEAM = "local"


def _collections(*extra: sa.ColumnClause[object]) -> sa.TableClause:
    """The collections table as a typed clause, so timestamps read back as datetimes on SQLite too."""
    return sa.table(
        "collections",
        sa.column("name", sa.String),
        sa.column("team", sa.String),
        sa.column("model", sa.String),
        sa.column("dim", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        *extra,
    )


def upgrade() -> None:
    now = dt.datetime.now(dt.UTC)
    teams = op.create_table(
        "teams",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_collections", sa.Integer(), nullable=True),
        sa.Column("max_points", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "name", name="uq_users_team_name"),
    )
    op.create_index(op.f("ix_users_team_id"), "users", ["team_id"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_api_keys_team_id"), "api_keys", ["team_id"], unique=False)
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("actor_key_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"], unique=False)
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index(op.f("ix_audit_events_team_id"), "audit_events", ["team_id"], unique=False)

    conn = op.get_bind()
    legacy = list(conn.execute(sa.select(_collections())))
    known = {LOCAL_TEAM}
    known.update(r.team for r in legacy)
    known.update(r[0] for r in conn.execute(sa.text("SELECT DISTINCT team FROM jobs")))
    op.bulk_insert(teams, [{"id": t, "name": t, "created_at": now} for t in sorted(known)])

    op.drop_index(op.f("ix_collections_team"), table_name="collections")
    op.drop_table("collections")
    collections = op.create_table(
        "collections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("team", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("store_name", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_name"),
        sa.UniqueConstraint("team", "name", name="uq_collections_team_name"),
    )
    op.create_index(op.f("ix_collections_team"), "collections", ["team"], unique=False)
    op.bulk_insert(
        collections,
        [
            {
                "id": str(uuid.uuid4()),
                "team": r.team,
                "name": r.name,
                "store_name": r.name,  # the vector store already holds it under this name
                "model": r.model,
                "dim": r.dim,
                "created_at": r.created_at,
            }
            for r in legacy
        ],
    )


def downgrade() -> None:
    conn = op.get_bind()
    rows = list(conn.execute(sa.select(_collections(sa.column("store_name", sa.String)))))
    if any(r.store_name != r.name for r in rows) or len({r.name for r in rows}) != len(rows):
        raise RuntimeError(
            "cannot downgrade: collections created since revision 0002 have per-team store names, "
            "which the old single-namespace schema cannot represent"
        )
    op.drop_index(op.f("ix_collections_team"), table_name="collections")
    op.drop_table("collections")
    collections = op.create_table(
        "collections",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(op.f("ix_collections_team"), "collections", ["team"], unique=False)
    op.bulk_insert(
        collections,
        [{"name": r.name, "team": r.team, "model": r.model, "dim": r.dim, "created_at": r.created_at} for r in rows],
    )
    op.drop_index(op.f("ix_audit_events_team_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_action"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_team_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_users_team_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("teams")
