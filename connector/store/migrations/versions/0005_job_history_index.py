"""job_runs: an index for each job's last success, so health checks read O(jobs) rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_job_runs_job_ok_finished', 'job_runs', ['job', 'ok', 'finished_at'])


def downgrade() -> None:
    op.drop_index('ix_job_runs_job_ok_finished', table_name='job_runs')
