"""OAuth2 connect flow (OAuth apps, one-time states) and polling triggers (cursors, seen items)

Revision ID: 0005_oauth_poll
Revises: 0004_security
Create Date: 2026-12-01 19:20:02.505250

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_oauth_poll'
down_revision = '0004_security'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oauth_apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=500), nullable=False),
    sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('integration'),
    sqlite_autoincrement=True
    )
    op.create_table('oauth_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('integration', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('binding_hash', sa.String(length=64), nullable=False),
    sa.Column('code_verifier_encrypted', sa.Text(), nullable=False),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('state_hash'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_expires_at'), ['expires_at'], unique=False)

    op.create_table('poll_cursors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=120), nullable=False),
    sa.Column('params_hash', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('primed_at', sa.DateTime(), nullable=True),
    sa.Column('last_poll_at', sa.DateTime(), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(), nullable=True),
    sa.Column('last_ok', sa.Boolean(), nullable=True),
    sa.Column('last_error_class', sa.String(length=32), nullable=True),
    sa.Column('last_error_message', sa.String(length=500), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('items_fired', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'trigger', 'params_hash', name='uq_poll_cursor'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('poll_cursors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_cursors_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_cursors_next_poll_at'), ['next_poll_at'], unique=False)

    op.create_table('poll_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cursor_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=200), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cursor_id'], ['poll_cursors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cursor_id', 'item_id', name='uq_poll_item'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('poll_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_items_seen_at'), ['seen_at'], unique=False)



def downgrade():
    with op.batch_alter_table('poll_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_items_seen_at'))

    op.drop_table('poll_items')
    with op.batch_alter_table('poll_cursors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_cursors_next_poll_at'))
        batch_op.drop_index(batch_op.f('ix_poll_cursors_connection_id'))

    op.drop_table('poll_cursors')
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_expires_at'))

    op.drop_table('oauth_states')
    op.drop_table('oauth_apps')
