"""payment reference and note; where closing a month stands

A payment's reference and note: what a treasurer keeps about how a payment went.

The reference (the bank's or Venmo's transaction id) and a short note are personal text:
encrypted at rest like stories (app/crypto.py; sealed to the fund's key under custody)
and never written to the books. `batch` names the one action that paid several requests
at once, so that sending it again pays nothing twice.

`month_close`: the statement balances typed on the close page and the counts of the last
reconciliation, per month and cash account, for the dashboard's "month waiting".

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models



revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('batch', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_batch'), ['batch'], unique=False)
    op.create_table('month_close',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('statement', app.models.Money(precision=14, scale=2), nullable=True),
    sa.Column('lines_only', sa.Integer(), nullable=True),
    sa.Column('entries_only', sa.Integer(), nullable=True),
    sa.Column('unreadable', sa.Integer(), nullable=True),
    sa.Column('reconciled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('statement IS NULL OR statement >= 0', name='ck_month_close_statement'),
    sa.ForeignKeyConstraint(['updated_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'account')
    )
    with op.batch_alter_table('month_close', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_month_close_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('month_close', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_month_close_month'))
    op.drop_table('month_close')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_batch'))
        batch_op.drop_column('batch')
        batch_op.drop_column('note')
        batch_op.drop_column('reference')
