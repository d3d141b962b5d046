"""A collection records the fingerprint of the model its vectors came from (``collections.model_digest``),
with the model's family, text dim and precision beside the model id and dim it already had.

Existing collections keep null fingerprints: the first request by a server whose model id and dim match
the recorded ones adopts that server's fingerprint (logged); a server with another model id gets 409.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = (
    ("model_digest", sa.String(64)),
    ("model_family", sa.String(64)),
    ("model_precision", sa.String(16)),
    ("text_dim", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
