"""edms_appeals: the EDMS's appeal cards of every channel; sstu_appeals reports them too

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('edms_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('pos_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('forwarded', sa.Boolean(), nullable=False),
    sa.Column('no_sstu', sa.Boolean(), nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('seen_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('target', 'external_id', name='uq_edms_appeals_card')
    )
    with op.batch_alter_table('edms_appeals', schema=None) as batch_op:
        batch_op.create_index('ix_edms_appeals_pos_id', ['pos_id'], unique=False)
        batch_op.create_index('ix_edms_appeals_received', ['received_on'], unique=False)

    with op.batch_alter_table('sstu_appeals', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('edms_appeal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_sstu_appeals_edms_appeal', 'edms_appeals', ['edms_appeal_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_unique_constraint('uq_sstu_appeals_edms_appeal', ['edms_appeal_id'])


def downgrade() -> None:
    with op.batch_alter_table('sstu_appeals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sstu_appeals_edms_appeal', type_='unique')
        batch_op.drop_constraint('fk_sstu_appeals_edms_appeal', type_='foreignkey')
        batch_op.drop_column('edms_appeal_id')
    op.execute("DELETE FROM sstu_appeals WHERE message_id IS NULL")
    with op.batch_alter_table('sstu_appeals', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('edms_appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_edms_appeals_received')
        batch_op.drop_index('ix_edms_appeals_pos_id')
    op.drop_table('edms_appeals')
