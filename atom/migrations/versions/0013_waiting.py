"""Durable timers of waiting executions, approval decisions, who started an execution

Revision ID: 0013_waiting
Revises: 0012_workflow_services
Create Date: 2026-12-02 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_waiting'
down_revision = '0012_workflow_services'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'execution_timers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('execution_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.String(length=100), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('execution_id', 'step_id', name='uq_execution_timer'))
    op.create_index('ix_execution_timers_execution_id', 'execution_timers', ['execution_id'])
    op.create_index('ix_execution_timers_due_at', 'execution_timers', ['due_at'])
    op.create_table(
        'approval_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('execution_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.String(length=100), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.String(length=200), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('execution_id', 'step_id', 'decided_by', name='uq_approval_decision'))
    op.create_index('ix_approval_decisions_execution_id', 'approval_decisions', ['execution_id'])
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('started_by', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('executions') as batch:
        batch.drop_column('started_by')
    op.drop_index('ix_approval_decisions_execution_id', table_name='approval_decisions')
    op.drop_table('approval_decisions')
    op.drop_index('ix_execution_timers_due_at', table_name='execution_timers')
    op.drop_index('ix_execution_timers_execution_id', table_name='execution_timers')
    op.drop_table('execution_timers')
