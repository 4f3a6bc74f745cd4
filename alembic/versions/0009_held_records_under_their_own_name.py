"""a record held for the safeguarding lead after an erasure or a purge is kept under a name
found from the participant's pseudonym, not the pseudonym itself, so that coming back starts
afresh

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 21:00:00.000000
"""
import hashlib

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

HELD_STATUSES = ('erasure_held', 'purge_held')
participants = sa.table('participants', sa.column('id', sa.Integer),
                        sa.column('pseudonym', sa.String), sa.column('status', sa.String),
                        sa.column('question_index', sa.Integer))


def held_pseudonym(pseudonym: str) -> str:
    # As bot.data_rights.held_pseudonym (a migration keeps its own copy of what it needs).
    return 'held-' + hashlib.sha256(pseudonym.encode('utf-8')).hexdigest()[:48]


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(participants.c.id, participants.c.pseudonym).where(
        participants.c.status.in_(HELD_STATUSES),
        sa.not_(participants.c.pseudonym.like('held-%')))).all()
    for row_id, pseudonym in rows:
        connection.execute(participants.update().where(participants.c.id == row_id).values(
            pseudonym=held_pseudonym(pseudonym), question_index=0))


def downgrade() -> None:
    # The participant's own pseudonym cannot be found from the held name: held records stay
    # under it (they are still found by "What do you know about me?" and by the lead).
    pass
