"""Services each workflow uses (for services/status at scale)

Revision ID: 0012_workflow_services
Revises: 0011_dependencies
Create Date: 2026-12-02 13:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_workflow_services'
down_revision = '0011_dependencies'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workflow_services',
        sa.Column('workflow_id', sa.Integer(), nullable=False),
        sa.Column('service', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('workflow_id', 'service'))
    op.create_index('ix_workflow_services_service', 'workflow_services', ['service'])
    # Backfill from every workflow's current version (the same rule as the engine's
    # services_of: the trigger's service and every step's).
    bind = op.get_bind()
    versions = sa.table('workflow_versions', sa.column('workflow_id', sa.Integer),
                        sa.column('version', sa.Integer), sa.column('definition', sa.JSON))
    workflows = sa.table('workflows', sa.column('id', sa.Integer), sa.column('version', sa.Integer))
    rows = bind.execute(sa.select(versions.c.workflow_id, versions.c.definition).select_from(
        versions.join(workflows, (workflows.c.id == versions.c.workflow_id)
                      & (workflows.c.version == versions.c.version))))
    found = []
    for workflow_id, definition in rows:
        definition = definition or {}
        services = {(definition.get('trigger') or {}).get('service')}
        services |= {step.get('service') for step in definition.get('steps') or []
                     if isinstance(step, dict)}
        found += [{'workflow_id': workflow_id, 'service': s} for s in services
                  if isinstance(s, str) and s]
    if found:
        op.bulk_insert(sa.table('workflow_services', sa.column('workflow_id', sa.Integer),
                                sa.column('service', sa.String)), found)


def downgrade():
    op.drop_index('ix_workflow_services_service', table_name='workflow_services')
    op.drop_table('workflow_services')
