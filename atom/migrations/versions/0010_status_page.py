"""The public status page's connections

Revision ID: 0010_status_page
Revises: 0009_incidents
Create Date: 2026-12-02 07:55:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0010_status_page'
down_revision = '0009_incidents'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
