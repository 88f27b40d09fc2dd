"""sstu export: appeals and archives; the covering letter of a redirect on cards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redirect_letter_number', sa.String(length=128), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('redirect_letter_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('rubric_code', sa.String(length=24), nullable=False, server_default=''))

    op.create_table('sstu_archives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('directory', sa.Text(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('appeals', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('written_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sstu_archives', schema=None) as batch_op:
        batch_op.create_index('ix_sstu_archives_period', ['period'], unique=False)

    op.create_table('sstu_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('incoming_date', sa.Date(), nullable=True),
    sa.Column('inputs_hash', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('statuses', sa.JSON(), nullable=False),
    sa.Column('built_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('changed_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('build_error', sa.Text(), nullable=True),
    sa.Column('send_state', sa.String(length=16), nullable=False),
    sa.Column('sent_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_statuses', sa.JSON(), nullable=False),
    sa.Column('sent_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.JSON(), nullable=True),
    sa.Column('archived_hash', sa.String(length=64), nullable=False),
    sa.Column('archived_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('lease_until', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', connector.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', name='uq_sstu_appeals_message')
    )
    with op.batch_alter_table('sstu_appeals', schema=None) as batch_op:
        batch_op.create_index('ix_sstu_appeals_incoming', ['incoming_date'], unique=False)
        batch_op.create_index('ix_sstu_appeals_send_state', ['send_state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sstu_appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_sstu_appeals_send_state')
        batch_op.drop_index('ix_sstu_appeals_incoming')

    op.drop_table('sstu_appeals')
    with op.batch_alter_table('sstu_archives', schema=None) as batch_op:
        batch_op.drop_index('ix_sstu_archives_period')

    op.drop_table('sstu_archives')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_column('rubric_code')
        batch_op.drop_column('redirect_letter_date')
        batch_op.drop_column('redirect_letter_number')
