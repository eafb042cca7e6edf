"""second-factor secrets wrapped under each person's password (issue 21)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing secrets stay in totp_secret (data key) until the person's next sign-in, or
    # `carebooks custody split`, moves them (app/custody/factor.py)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_wrapped', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_hold', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('totp_hold')
        batch_op.drop_column('totp_wrapped')
