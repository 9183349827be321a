"""Incidents, escalation policies, reminders and silences

Revision ID: 0009_incidents
Revises: 0008_alerting
Create Date: 2026-12-02 07:55:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0009_incidents'
down_revision = '0008_alerting'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
