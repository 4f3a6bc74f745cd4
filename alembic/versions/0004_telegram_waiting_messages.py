"""telegram messages kept while Rasa rests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('telegram_waiting',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bot_id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.Column('kept_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_waiting')),
    sa.UniqueConstraint('bot_id', 'message_id', name=op.f('uq_telegram_waiting_bot_id'))
    )
    with op.batch_alter_table('telegram_waiting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_waiting_sender'), ['sender'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('telegram_waiting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_waiting_sender'))

    op.drop_table('telegram_waiting')
