"""executor_hops: every executor's hold of a message with its own term (issue 14)

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connector.store.types import UtcDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'executor_hops',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('organisation', sa.String(length=255), nullable=False),
        sa.Column('unit', sa.String(length=255), nullable=False),
        sa.Column('executor', sa.Text(), nullable=False),
        sa.Column('responsible', sa.Boolean(), nullable=False),
        sa.Column('turn', sa.Integer(), nullable=False),
        sa.Column('started_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', UtcDateTime(timezone=True), nullable=True),
        sa.Column('due', sa.Date(), nullable=True),
        sa.Column('first_due', sa.Date(), nullable=True),
        sa.Column('extensions', sa.Integer(), nullable=False),
        sa.Column('done_at', UtcDateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'seq', name='uq_executor_hops_message_seq'),
    )


def downgrade() -> None:
    op.drop_table('executor_hops')
