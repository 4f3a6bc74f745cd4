"""who chose an answer's themes by hand, even none

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('themes_set_by', sa.String(length=16), nullable=True))
    # Answers a person tagged before this column existed: their tags say who.
    op.execute(
        "UPDATE answers SET themes_set_by = ("
        " SELECT MIN(answer_themes.source) FROM answer_themes"
        " WHERE answer_themes.answer_id = answers.id"
        " AND answer_themes.source IN ('participant', 'staff'))"
        " WHERE themes_set_by IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('themes_set_by')
