"""Incidents, escalation policies, reminders and silences

Revision ID: 0009_incidents
Revises: 0008_alerting
Create Date: 2026-12-02 07:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_incidents'
down_revision = '0008_alerting'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_key', sa.String(length=300), nullable=False),
        sa.Column('active_key', sa.String(length=300), nullable=True),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('integration', sa.String(length=64), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_by', sa.String(length=200), nullable=True),
        sa.Column('notified_at', sa.DateTime(), nullable=True),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('resolved_notified', sa.Boolean(), nullable=False),
        sa.Column('notify_seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('active_key'),
        sqlite_autoincrement=True)
    op.create_index('ix_incidents_status', 'incidents', ['status'])
    op.create_index(op.f('ix_incidents_integration'), 'incidents', ['integration'])
    op.create_table(
        'incident_notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=16), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('firing', sa.Integer(), nullable=False),
        sa.Column('resolved', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error_class', sa.String(length=32), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index(op.f('ix_incident_notifications_incident_id'), 'incident_notifications',
                    ['incident_id'])
    op.create_index('ix_incident_notifications_channel_ts', 'incident_notifications',
                    ['channel_id', 'created_at'])
    op.create_table(
        'escalation_policies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('matcher', sa.JSON(), nullable=False),
        sa.Column('levels', sa.JSON(), nullable=False),
        sa.Column('repeat_interval_s', sa.Float(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_table(
        'silences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('matcher', sa.JSON(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('comment', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('expired_by', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index('ix_silences_ends_at', 'silences', ['ends_at'])


def downgrade():
    op.drop_index('ix_silences_ends_at', table_name='silences')
    op.drop_table('silences')
    op.drop_table('escalation_policies')
    op.drop_index('ix_incident_notifications_channel_ts', table_name='incident_notifications')
    op.drop_index(op.f('ix_incident_notifications_incident_id'),
                  table_name='incident_notifications')
    op.drop_table('incident_notifications')
    op.drop_index(op.f('ix_incidents_integration'), table_name='incidents')
    op.drop_index('ix_incidents_status', table_name='incidents')
    op.drop_table('incidents')
