"""community's books and auditors: attestations of `carebooks audit MONTH`

The community's books themselves are files (instance/community/), derived from the
fund's books; nothing about them lives in the database. Sealed months are never
rewritten: months sealed before this revision keep their seals (without a Merkle root)
and get community's books like the others on the next seal or `carebooks derive-public`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models  # noqa: F401  (registers UTCDateTime on sqlmodel's types)

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attestation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('auditor_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('seal_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['auditor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attestation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attestation_auditor_id'), ['auditor_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_attestation_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attestation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attestation_month'))
        batch_op.drop_index(batch_op.f('ix_attestation_auditor_id'))
    op.drop_table('attestation')
