"""donor names encrypted at rest: the column becomes TEXT (ciphertext is longer)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('donation', schema=None) as batch_op:
        batch_op.alter_column('donor_name', existing_type=sqlmodel.sql.sqltypes.AutoString(length=60),
                              type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('donation', schema=None) as batch_op:
        batch_op.alter_column('donor_name', existing_type=sa.Text(),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=60),
                              existing_nullable=True)
