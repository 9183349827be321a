"""Declared monitoring dependencies

Revision ID: 0011_dependencies
Revises: 0010_status_page
Create Date: 2026-12-02 07:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_dependencies'
down_revision = '0010_status_page'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'monitoring_dependencies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('parent', sa.String(length=300), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('subject', 'parent', name='uq_monitoring_dependencies'),
        sqlite_autoincrement=True)
    op.create_index('ix_monitoring_dependencies_subject', 'monitoring_dependencies', ['subject'])


def downgrade():
    op.drop_index('ix_monitoring_dependencies_subject', table_name='monitoring_dependencies')
    op.drop_table('monitoring_dependencies')
