"""shipment and return ids up to 129 characters (the fulfilment process's namespaced ids)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

#: (table, column, nullable, old length): the columns that hold a shipment or return id, which a
#: partner-facing API namespaces by its partner (``<partner>:<reference>``, up to 129 characters).
COLUMNS = [
    ("erp_invoices", "shipment_ref", False, 64),
    ("erp_credit_memos", "return_ref", False, 64),
]


def _resize(*, to_new: bool) -> None:
    for table, column, nullable, old in COLUMNS:
        new_type, old_type = (sa.String(129), sa.String(old)) if to_new else (sa.String(old), sa.String(129))
        with op.batch_alter_table(table) as batch:  # SQLite rebuilds the table; PostgreSQL alters the type
            batch.alter_column(column, type_=new_type, existing_type=old_type, existing_nullable=nullable)


def upgrade() -> None:
    _resize(to_new=True)


def downgrade() -> None:
    _resize(to_new=False)
