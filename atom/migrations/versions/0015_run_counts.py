"""Runs per workflow per second, for WORKFLOW_MAX_RUNS_PER_MINUTE

Revision ID: 0015_run_counts
Revises: 0014_foreach_services
Create Date: 2026-12-04 03:50:00

The per-minute cap counted a workflow's executions of the last 60 seconds on every start: a
read that grows with the rate (30,000 rows at 500 starts a second). It now sums at most 60
per-second counters and upserts one. Executions of the minute before the upgrade are not
counted: for one minute after it, a workflow may start up to one more minute's worth.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_run_counts'
down_revision = '0014_foreach_services'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workflow_run_counts',
        sa.Column('workflow_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('second', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('workflow_id', 'second'))


def downgrade():
    op.drop_table('workflow_run_counts')
