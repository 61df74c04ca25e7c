"""allocation status fits PICK_RELEASED

VARCHAR(12) was one short for PICK_RELEASED: SQLite ignores the length, PostgreSQL refused the
pick release ("value too long").

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 21:44:01.326521
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("wms_allocations", schema=None) as batch_op:
        batch_op.alter_column(
            "alloc_status", existing_type=sa.VARCHAR(length=12), type_=sa.String(length=16), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wms_allocations", schema=None) as batch_op:
        batch_op.alter_column(
            "alloc_status", existing_type=sa.String(length=16), type_=sa.VARCHAR(length=12), existing_nullable=False
        )
