"""payment reference and note: what a treasurer keeps about how a payment went

The reference (the bank's or Venmo's transaction id) and a short note are personal text:
encrypted at rest like stories (app/crypto.py; sealed to the fund's key under custody)
and never written to the books. `batch` names the one action that paid several requests
at once, so that sending it again pays nothing twice.

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op



revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('batch', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_batch'), ['batch'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_batch'))
        batch_op.drop_column('batch')
        batch_op.drop_column('note')
        batch_op.drop_column('reference')
