"""rubric mapping: classifier editions, POS categories, mapping versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('classifier_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('node_count', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('imported_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('label', name='uq_classifier_editions_label')
    )
    op.create_table('pos_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.String(length=128), nullable=False),
    sa.Column('parent_id', sa.String(length=128), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('updated_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('category_id', name='uq_pos_categories_category_id')
    )
    op.create_table('classifier_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('edition_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parent_code', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['edition_id'], ['classifier_editions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('edition_id', 'code', name='uq_classifier_nodes_edition_code')
    )
    op.create_table('mapping_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('edition_id', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('created_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['edition_id'], ['classifier_editions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number', name='uq_mapping_versions_number')
    )
    op.create_table('mapping_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('edition_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', connector.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['edition_id'], ['classifier_editions.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['mapping_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('mapping_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.String(length=128), nullable=False),
    sa.Column('category_path', sa.Text(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['mapping_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version_id', 'category_id', name='uq_mapping_rows_version_category')
    )
    with op.batch_alter_table('mapping_rows', schema=None) as batch_op:
        batch_op.create_index('ix_mapping_rows_version', ['version_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mapping_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_mapping_rows_version')
    op.drop_table('mapping_rows')
    op.drop_table('mapping_exports')
    op.drop_table('mapping_versions')
    op.drop_table('classifier_nodes')
    op.drop_table('pos_categories')
    op.drop_table('classifier_editions')
