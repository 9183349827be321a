"""Index the services a foreach's inner steps use (workflow_services)

Revision ID: 0014_foreach_services
Revises: 0013_waiting
Create Date: 2026-12-04 02:10:00

0012 indexed the trigger's and the top-level steps' services; a foreach's inner steps (``step``
or ``steps``) use services too. Adds the missing rows for every workflow's current version.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_foreach_services'
down_revision = '0013_waiting'
branch_labels = None
depends_on = None


def _inner_services(steps):
    for step in steps or []:
        if not isinstance(step, dict) or step.get('type') != 'foreach':
            continue
        inner = [step['step']] if isinstance(step.get('step'), dict) else step.get('steps') or []
        for s in inner:
            if isinstance(s, dict):
                if isinstance(s.get('service'), str) and s['service']:
                    yield s['service']
                yield from _inner_services([s])


def upgrade():
    bind = op.get_bind()
    versions = sa.table('workflow_versions', sa.column('workflow_id', sa.Integer),
                        sa.column('version', sa.Integer), sa.column('definition', sa.JSON))
    workflows = sa.table('workflows', sa.column('id', sa.Integer), sa.column('version', sa.Integer))
    index = sa.table('workflow_services', sa.column('workflow_id', sa.Integer),
                     sa.column('service', sa.String))
    have = set(bind.execute(sa.select(index.c.workflow_id, index.c.service)).all())
    rows = bind.execute(sa.select(versions.c.workflow_id, versions.c.definition).select_from(
        versions.join(workflows, (workflows.c.id == versions.c.workflow_id)
                      & (workflows.c.version == versions.c.version))))
    found = set()
    for workflow_id, definition in rows:
        for service in _inner_services((definition or {}).get('steps')):
            if (workflow_id, service) not in have:
                found.add((workflow_id, service))
    if found:
        op.bulk_insert(index, [{'workflow_id': w, 'service': s} for w, s in sorted(found)])


def downgrade():
    pass  # the rows stay correct for 0013's code, which only reads the index
