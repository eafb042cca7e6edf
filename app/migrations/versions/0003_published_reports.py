"""published reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('published_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('lang', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('paper', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('seal_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('published_by', sa.Integer(), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['published_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'version', 'lang')
    )
    with op.batch_alter_table('published_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_report_month'), ['month'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('published_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_report_month'))

    op.drop_table('published_report')
