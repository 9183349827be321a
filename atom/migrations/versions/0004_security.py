"""security: ids never reused (SQLite AUTOINCREMENT), webhook receipts, session versions,
one-time password and API key expiry, execution roots

Revision ID: 0004_security
Revises: 0003_monitoring
Create Date: 2026-12-01 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_security'
down_revision = '0003_monitoring'
branch_labels = None
depends_on = None

# Every table with an integer id. On SQLite each is rebuilt with AUTOINCREMENT, so the id of a
# deleted row is never handed out again (env.py turns foreign keys off for the rebuild, so the
# copy-and-rename cascades nothing).
ID_TABLES = (
    'audit_events', 'call_records', 'connections', 'users', 'api_keys', 'webhook_events',
    'workflows', 'executions', 'schedule_fires', 'workflow_versions', 'step_runs', 'alerts',
    'health_samples', 'metric_rollups', 'maintenance_windows', 'notification_channels',
    'alert_notifications',
)


def upgrade():
    op.create_table('webhook_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=120), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'digest', name='uq_webhook_receipt'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_receipts_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('root_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_executions_root_id'), ['root_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        for table in ID_TABLES:
            with op.batch_alter_table(table, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': True}):
                pass


def downgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_executions_root_id'))
        batch_op.drop_column('root_id')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
        batch_op.drop_column('password_expires_at')

    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_receipts_received_at'))
    op.drop_table('webhook_receipts')
