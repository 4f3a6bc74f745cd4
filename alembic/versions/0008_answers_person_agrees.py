"""an answer given for someone keeps whether that person agreed, as the carer said then

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 18:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_agrees', sa.Boolean(), nullable=True))
    # Answers given for someone before this column: the carer's answer kept on their row, unless
    # they have answered in another role since (it was cleared then, and is not known).
    op.execute(
        "UPDATE answers SET person_agrees = ("
        " SELECT participants.person_agrees FROM participants"
        " WHERE participants.id = answers.participant_id AND participants.role = 'on_behalf')"
        " WHERE role = 'on_behalf'")


def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('person_agrees')
