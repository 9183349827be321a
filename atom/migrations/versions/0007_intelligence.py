"""Intelligence: trained model states, optimisation applications, troubleshooting sessions,
workflows under enhanced monitoring; the fallback a step run took

Revision ID: 0007_intelligence
Revises: 0006_step_attempts
Create Date: 2026-12-02 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_intelligence'
down_revision = '0006_step_attempts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'intelligence_models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('component', sa.String(length=32), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('trained_at', sa.DateTime(), nullable=False),
        sa.Column('samples', sa.Integer(), nullable=False),
        sa.Column('held_back', sa.Integer(), nullable=False),
        sa.Column('metrics', sa.JSON(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index('ix_intelligence_models_component', 'intelligence_models',
                    ['component', 'trained_at'])
    op.create_table(
        'optimisation_applications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workflow_id', sa.Integer(), nullable=False),
        sa.Column('from_version', sa.Integer(), nullable=False),
        sa.Column('to_version', sa.Integer(), nullable=False),
        sa.Column('strategy', sa.String(length=16), nullable=False),
        sa.Column('findings', sa.JSON(), nullable=False),
        sa.Column('baseline', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index(op.f('ix_optimisation_applications_workflow_id'), 'optimisation_applications',
                    ['workflow_id'])
    op.create_table(
        'troubleshooting_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workflow_id', sa.Integer(), nullable=False),
        sa.Column('execution_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('analysis', sa.JSON(), nullable=False),
        sa.Column('resolution', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index('ix_troubleshooting_sessions_workflow', 'troubleshooting_sessions',
                    ['workflow_id', 'created_at'])
    op.create_table(
        'workflow_monitors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workflow_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('started_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('workflow_id'),
        sqlite_autoincrement=True)
    with op.batch_alter_table('step_runs') as batch:
        batch.add_column(sa.Column('fallback', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('step_runs') as batch:
        batch.drop_column('fallback')
    op.drop_table('workflow_monitors')
    op.drop_index('ix_troubleshooting_sessions_workflow', table_name='troubleshooting_sessions')
    op.drop_table('troubleshooting_sessions')
    op.drop_index(op.f('ix_optimisation_applications_workflow_id'),
                  table_name='optimisation_applications')
    op.drop_table('optimisation_applications')
    op.drop_index('ix_intelligence_models_component', table_name='intelligence_models')
    op.drop_table('intelligence_models')
