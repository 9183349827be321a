"""Alerting v2: alerts' upstream host, incident, suppression and flapping; alert streaks

Revision ID: 0008_alerting
Revises: 0007_intelligence
Create Date: 2026-12-02 07:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_alerting'
down_revision = '0007_intelligence'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('suppressed_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('flapping', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_index('ix_alerts_incident_id', ['incident_id'])
    op.create_table(
        'alert_states',
        sa.Column('key', sa.String(length=120), primary_key=True),
        sa.Column('bad_streak', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('good_streak', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('lower_streak', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('pending_severity', sa.String(length=16), nullable=True),
        sa.Column('since', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table('alert_states')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_index('ix_alerts_incident_id')
        batch.drop_column('flapping')
        batch.drop_column('suppressed_by')
        batch.drop_column('incident_id')
        batch.drop_column('host')
