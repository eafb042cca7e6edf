"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counter',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carebooks_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entry_text', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('carebooks_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('roles', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('handle')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_email'), ['email'], unique=True)

    op.create_table('aid_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('amount', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('needed_by', sa.Date(), nullable=False),
    sa.Column('payout_method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('approved_amount', app.models.Money(precision=14, scale=2), nullable=True),
    sa.Column('paid_amount', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.CheckConstraint('amount > 0', name='ck_aid_request_amount'),
    sa.CheckConstraint('approved_amount IS NULL OR approved_amount > 0', name='ck_aid_request_approved_amount'),
    sa.CheckConstraint('paid_amount >= 0', name='ck_aid_request_paid_amount')
    )
    with op.batch_alter_table('aid_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aid_request_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_aid_request_status'), ['status'], unique=False)

    op.create_table('apitoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apitoken_person_id'), ['person_id'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject'), ['subject'], unique=False)

    op.create_table('donation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('amount', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('fee', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('donor_name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('donor_consents_public', sa.Boolean(), nullable=False),
    sa.Column('refunded', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('refund_count', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.CheckConstraint('amount > 0', name='ck_donation_amount'),
    sa.CheckConstraint('fee >= 0', name='ck_donation_fee'),
    sa.CheckConstraint('refunded >= 0', name='ck_donation_refunded')
    )
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('body_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id', 'key')
    )
    op.create_table('policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('second_approval_at', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('request_cap', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('member_cap', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('member_window_days', sa.Integer(), nullable=False),
    sa.Column('reserve_floor', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('category_budgets', sa.Text(), nullable=False),
    sa.Column('k_threshold', sa.Integer(), nullable=False),
    sa.Column('dominance_share', sa.Integer(), nullable=False),
    sa.Column('rounding_unit', sa.Integer(), nullable=False),
    sa.Column('purge_after_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint('second_approval_at > 0', name='ck_policy_second_approval_at'),
    sa.CheckConstraint('request_cap > 0', name='ck_policy_request_cap'),
    sa.CheckConstraint('member_cap > 0', name='ck_policy_member_cap'),
    sa.CheckConstraint('reserve_floor >= 0', name='ck_policy_reserve_floor')
    )
    op.create_table('approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('treasurer_id', sa.Integer(), nullable=False),
    sa.Column('amount', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['aid_request.id'], ),
    sa.ForeignKeyConstraint(['treasurer_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'treasurer_id'),
    sa.CheckConstraint('amount > 0', name='ck_approval_amount')
    )
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_request_id'), ['request_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('amount', app.models.Money(precision=14, scale=2), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('treasurer_id', sa.Integer(), nullable=False),
    sa.Column('carebooks_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['aid_request.id'], ),
    sa.ForeignKeyConstraint(['treasurer_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('carebooks_id'),
    sa.UniqueConstraint('request_id', 'seq'),
    sa.CheckConstraint('amount > 0', name='ck_payment_amount')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_request_id'), ['request_id'], unique=False)

    op.create_table('request_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['aid_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('request_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_note_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('request_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_note_request_id'))

    op.drop_table('request_note')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_request_id'))

    op.drop_table('payment')
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_request_id'))

    op.drop_table('approval')
    op.drop_table('policy')
    op.drop_table('idempotency_key')
    op.drop_table('donation')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_subject'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apitoken_person_id'))

    op.drop_table('apitoken')
    with op.batch_alter_table('aid_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aid_request_status'))
        batch_op.drop_index(batch_op.f('ix_aid_request_member_id'))

    op.drop_table('aid_request')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_email'))

    op.drop_table('person')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status'))

    op.drop_table('outbox')
    op.drop_table('counter')
