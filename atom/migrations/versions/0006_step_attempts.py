"""Every attempt of a step is kept: the earlier attempts of a step run (status, error class and
message, timings) in a JSON list beside the row's last attempt

Revision ID: 0006_step_attempts
Revises: 0005_oauth_poll
Create Date: 2026-12-02 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_step_attempts'
down_revision = '0005_oauth_poll'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('step_runs') as batch:
        batch.add_column(sa.Column('attempts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('step_runs') as batch:
        batch.drop_column('attempts')
