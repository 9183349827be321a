"""Declared monitoring dependencies

Revision ID: 0011_dependencies
Revises: 0010_status_page
Create Date: 2026-12-02 07:55:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0011_dependencies'
down_revision = '0010_status_page'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
