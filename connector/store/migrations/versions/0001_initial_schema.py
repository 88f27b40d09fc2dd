"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_kind', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('started_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_started', ['job', 'started_at'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('pos_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('failed_from', sa.String(length=20), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('payload_hash', sa.String(length=64), nullable=True),
    sa.Column('pos_status', sa.String(length=32), nullable=True),
    sa.Column('pos_updated_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('lease_until', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'pos_id', name='uq_messages_account_pos_id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_state', ['state'], unique=False)

    op.create_table('pull_watermarks',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('updated_since', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account')
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('pos_file_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime_type', sa.String(length=255), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'pos_file_id', name='uq_attachments_message_file')
    )
    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('adapter', sa.String(length=64), nullable=False),
    sa.Column('edms_target', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('registration_number', sa.String(length=128), nullable=False),
    sa.Column('registration_date', sa.Date(), nullable=True),
    sa.Column('executor', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('redirect_org_id', sa.String(length=128), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('lease_until', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', name='uq_cards_message')
    )
    op.create_table('deadline_hops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('hop_no', sa.Integer(), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=False),
    sa.Column('executor', sa.Text(), nullable=False),
    sa.Column('started_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('ended_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'hop_no', name='uq_hops_message_hop')
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('lease_until', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'kind', 'target', name='uq_outbox_message_kind_target')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_state', ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state')

    op.drop_table('outbox')
    op.drop_table('deadline_hops')
    op.drop_table('cards')
    op.drop_table('attachments')
    op.drop_table('pull_watermarks')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_state')

    op.drop_table('messages')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_started')

    op.drop_table('job_runs')
    op.drop_table('failures')
