"""pull signpost: clock warnings, what the sweep found, the last runaway listing per account

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pull_watermarks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_warnings', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('missed_by_incremental', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('listing_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('listing_error_at', connector.store.types.UtcDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pull_watermarks', schema=None) as batch_op:
        batch_op.drop_column('listing_error_at')
        batch_op.drop_column('listing_error')
        batch_op.drop_column('missed_by_incremental')
        batch_op.drop_column('clock_warnings')
