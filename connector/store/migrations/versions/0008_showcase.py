"""showcase: one row per appeal uploaded to the POS data showcase

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('showcase_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=160), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('received', sa.Date(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('changed_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('build_error', sa.Text(), nullable=True),
    sa.Column('send_state', sa.String(length=16), nullable=False),
    sa.Column('sent_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('lease_until', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'source_id', name='uq_showcase_items_source'),
    sa.UniqueConstraint('account', 'item_id', name='uq_showcase_items_item')
    )
    with op.batch_alter_table('showcase_items', schema=None) as batch_op:
        batch_op.create_index('ix_showcase_items_send_state', ['send_state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('showcase_items', schema=None) as batch_op:
        batch_op.drop_index('ix_showcase_items_send_state')
    op.drop_table('showcase_items')
