"""which hashing key made the store's pseudonyms (a keyed hash of a fixed text, not the key)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 18:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled by the first process that starts with a key (bot.store.key_check).
    op.create_table(
        'key_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_key_checks')),
    )


def downgrade() -> None:
    op.drop_table('key_checks')
