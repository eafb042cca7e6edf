"""security, second round (issue 16): token scopes and expiry, role grants waiting for a
second person, notices shown on the next page view, and the first sign-in's secrets kept
server-side (encrypted) instead of in the cookie

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TOKEN_DAYS = 90


def upgrade() -> None:
    # secrets shown at the first sign-in: server-side and encrypted, not in the cookie
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_pending', sa.Text(), nullable=True))
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_once', sa.Text(), nullable=True))
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=False, server_default='read,request'))
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('revoked_why',
                                      sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))
    # Tokens made before scopes existed keep reading and asking, lose the money scope (a
    # treasurer makes a new one) and expire 90 days after this upgrade.
    token = sa.table('apitoken', sa.column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    op.execute(token.update().values(
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=TOKEN_DAYS)))
    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('roles', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grant_person_id'), ['person_id'],
                              unique=False)
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('params', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_person_id'))
    op.drop_table('notice')
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grant_person_id'))
    op.drop_table('role_grant')
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_column('revoked_why')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scopes')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_column('shown_once')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('totp_pending')
