"""telegram transport state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:14:27.871156
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('telegram_files',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('file_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_telegram_files'))
    )
    op.create_table('telegram_keyboards',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('pressed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_telegram_keyboards'))
    )
    with op.batch_alter_table('telegram_keyboards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_keyboards_pressed_at'), ['pressed_at'], unique=False)

    op.create_table('telegram_payloads',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_telegram_payloads'))
    )
    op.create_table('telegram_updates',
    sa.Column('bot_id', sa.String(length=32), nullable=False),
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bot_id', 'update_id', name=op.f('pk_telegram_updates'))
    )
    with op.batch_alter_table('telegram_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_updates_seen_at'), ['seen_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('telegram_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_updates_seen_at'))

    op.drop_table('telegram_updates')
    op.drop_table('telegram_payloads')
    with op.batch_alter_table('telegram_keyboards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_keyboards_pressed_at'))

    op.drop_table('telegram_keyboards')
    op.drop_table('telegram_files')
