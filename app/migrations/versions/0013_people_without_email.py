"""people without email: a handle-only person, requests filed on their behalf (who filed
it, how the person wants to be reached, the contact encrypted), printed claim codes, and
the codes that reset a forgotten passphrase

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.crypto
import app.models


revision = '0013'
down_revision = '0016'  # after 0014 (issue 21) and 0016 (issue 18)
branch_labels = None
depends_on = None

# What a person without email gets as an address if the schema is taken back below 0013
# (the column was NOT NULL then): unique, and never deliverable (RFC 2606's .invalid).
NO_EMAIL = "@no-email.invalid"


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sqlmodel.sql.sqltypes.AutoString(length=254),
                              nullable=True)
        batch_op.add_column(sa.Column('reset_codes', sa.Text(), nullable=True))
    with op.batch_alter_table('aid_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filed_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reach_by', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column('contact', app.crypto.EncryptedText("aid_request.contact"),
                                      nullable=True))
        batch_op.create_foreign_key('fk_aid_request_filed_by_person', 'person',
                                    ['filed_by'], ['id'])
    op.create_table('claim_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('code_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_sha256')
    )
    with op.batch_alter_table('claim_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_code_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('claim_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_code_person_id'))
    op.drop_table('claim_code')
    with op.batch_alter_table('aid_request', schema=None) as batch_op:
        batch_op.drop_constraint('fk_aid_request_filed_by_person', type_='foreignkey')
        batch_op.drop_column('contact')
        batch_op.drop_column('reach_by')
        batch_op.drop_column('filed_by')
    # the column becomes NOT NULL again: a person without email gets an address made from
    # their id and can never be delivered to
    op.execute(sa.text("UPDATE person SET email = 'h-' || id || :suffix WHERE email IS NULL")
               .bindparams(suffix=NO_EMAIL))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('reset_codes')
        batch_op.alter_column('email', existing_type=sqlmodel.sql.sqltypes.AutoString(length=254),
                              nullable=False)
