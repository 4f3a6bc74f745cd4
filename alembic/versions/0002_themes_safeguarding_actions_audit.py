"""themes safeguarding actions audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:49:14.375584
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('staff_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_actions'))
    )
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_actions_theme_id'), ['theme_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['staff_actions.id'], name=op.f('fk_notifications_action_id_staff_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_notifications_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('participant_id', 'action_id', 'revision', name='uq_notifications_once')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_participant_id'), ['participant_id'], unique=False)

    op.create_table('answer_themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_answer_themes_answer_id_answers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_themes')),
    sa.UniqueConstraint('answer_id', 'theme_id', name='uq_answer_themes_answer_theme')
    )
    with op.batch_alter_table('answer_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_themes_answer_id'), ['answer_id'], unique=False)

    op.create_table('safeguarding_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('answer_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('categories', sa.String(length=255), nullable=False),
    sa.Column('immediate_danger', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery_error', sa.String(length=255), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolved_action', sa.String(length=16), nullable=True),
    sa.Column('resolved_note', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_safeguarding_alerts_answer_id_answers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_safeguarding_alerts_participant_id_participants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safeguarding_alerts'))
    )
    with op.batch_alter_table('safeguarding_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safeguarding_alerts_participant_id'), ['participant_id'], unique=False)

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wants_updates', sa.Boolean(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('wants_updates')

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('flagged')

    with op.batch_alter_table('safeguarding_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safeguarding_alerts_participant_id'))

    op.drop_table('safeguarding_alerts')
    with op.batch_alter_table('answer_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_themes_answer_id'))

    op.drop_table('answer_themes')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_participant_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_actions_theme_id'))

    op.drop_table('staff_actions')
    op.drop_table('audit_log')
