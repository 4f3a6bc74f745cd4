"""Database tables for participants, consent, answers and counts."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData,
                        String, Table, Text, UniqueConstraint, false)
from sqlalchemy.orm import declarative_base, relationship

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING))

ROLES = ("self", "on_behalf", "support_worker")
STATUSES = ("in_progress", "paused", "finished")


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


# A participant whose erasure waits for the safeguarding lead, by who asked for it: the person
# themselves, or the retention period (`coproduce purge`).
ERASURE_HELD = "erasure_held"
PURGE_HELD = "purge_held"
HELD_STATUSES = (ERASURE_HELD, PURGE_HELD)


class KeyCheck(Base):
    """Which hashing key made this store's pseudonyms: a keyed hash of a fixed text, never the
    key. A process with another key would not know anyone who comes back, so it is refused."""

    __tablename__ = "key_checks"

    id = Column(Integer, primary_key=True)  # one row, id 1
    digest = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Participant(Base):
    """A pseudonymous person taking part; the channel's own user id is never stored."""

    __tablename__ = "participants"

    id = Column(Integer, primary_key=True)
    pseudonym = Column(String(64), nullable=False, unique=True)
    engagement_id = Column(String(100), nullable=False)
    channel = Column(String(32), nullable=False)
    language = Column(String(16))
    role = Column(String(20))
    person_agrees = Column(Boolean)
    sound = Column(Boolean)
    question_index = Column(Integer, nullable=False, default=0)
    status = Column(String(20), nullable=False, default="in_progress")
    wants_updates = Column(Boolean)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    answers = relationship("Answer", back_populates="participant", cascade="all, delete-orphan",
                           passive_deletes=True)


class Contact(Base):
    """How to reach a participant later; kept apart so that erasure can remove it."""

    __tablename__ = "contacts"

    id = Column(Integer, primary_key=True)
    participant_id = Column(Integer, ForeignKey("participants.id", ondelete="CASCADE"),
                            nullable=False, unique=True)
    channel = Column(String(32), nullable=False)
    address = Column(String(255), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Consent(Base):
    """What a participant agreed to, which version of the text, and when."""

    __tablename__ = "consents"

    id = Column(Integer, primary_key=True)
    participant_id = Column(Integer, ForeignKey("participants.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    version = Column(String(32), nullable=False)
    agreed = Column(Boolean, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Answer(Base):
    """One answer to one question, kept word for word."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("participant_id", "channel_message_id",
                                       name="uq_answers_participant_message"),)

    id = Column(Integer, primary_key=True)
    participant_id = Column(Integer, ForeignKey("participants.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    question_id = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    role = Column(String(20))
    # For an answer given on someone's behalf: whether the carer said that person knows and
    # agrees, as it was when the answer was given (None for other roles).
    person_agrees = Column(Boolean)
    channel = Column(String(32), nullable=False)
    channel_message_id = Column(String(128), nullable=False)
    flagged = Column(Boolean, nullable=False, default=False, server_default=false())
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Who chose this answer's themes by hand ("participant" or "staff"), even if they chose
    # none; None while only the tagger has. The tagger never changes a person's choice.
    themes_set_by = Column(String(16))

    participant = relationship("Participant", back_populates="answers")
    themes = relationship("AnswerTheme", back_populates="answer", cascade="all, delete-orphan",
                          passive_deletes=True)


TAG_SOURCES = ("auto", "participant", "staff")


class AnswerTheme(Base):
    """One theme on one answer, with its score and who set it (auto, participant or staff)."""

    __tablename__ = "answer_themes"
    __table_args__ = (UniqueConstraint("answer_id", "theme_id", name="uq_answer_themes_answer_theme"),)

    id = Column(Integer, primary_key=True)
    answer_id = Column(Integer, ForeignKey("answers.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    theme_id = Column(String(64), nullable=False)
    score = Column(Float)
    source = Column(String(16), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    answer = relationship("Answer", back_populates="themes")


class SafeguardingAlert(Base):
    """A possible disclosure of harm, kept word for word until the safeguarding lead acts."""

    __tablename__ = "safeguarding_alerts"

    id = Column(Integer, primary_key=True)
    participant_id = Column(Integer, ForeignKey("participants.id", ondelete="SET NULL"),
                            index=True)
    answer_id = Column(Integer, ForeignKey("answers.id", ondelete="SET NULL"))
    text = Column(Text, nullable=False)
    channel = Column(String(32), nullable=False)
    role = Column(String(20))
    score = Column(Float, nullable=False)
    categories = Column(String(255), nullable=False, default="")
    immediate_danger = Column(Boolean, nullable=False, default=False)
    status = Column(String(16), nullable=False, default="open")
    delivered_at = Column(DateTime(timezone=True))
    delivery_error = Column(String(255))
    resolved_by = Column(String(100))
    resolved_action = Column(String(16))
    resolved_note = Column(Text)
    resolved_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


ACTION_STATUSES = ("planned", "doing", "done")


class StaffAction(Base):
    """'We did': what staff are doing about a theme, in plain words."""

    __tablename__ = "staff_actions"

    id = Column(Integer, primary_key=True)
    theme_id = Column(String(64), nullable=False, index=True)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    revision = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Notification(Base):
    """A 'you said, we did' update delivered to a participant: once per action revision."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("participant_id", "action_id", "revision",
                                       name="uq_notifications_once"),)

    id = Column(Integer, primary_key=True)
    participant_id = Column(Integer, ForeignKey("participants.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    action_id = Column(Integer, ForeignKey("staff_actions.id", ondelete="CASCADE"),
                       nullable=False)
    revision = Column(Integer, nullable=False)
    sent_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AuditEntry(Base):
    """Who did what, when: exports, erasures, purges and safeguarding actions."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    actor = Column(String(100), nullable=False)
    action = Column(String(64), nullable=False)
    detail = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Counter(Base):
    """A named count with no personal data, such as how many people said no."""

    __tablename__ = "counters"

    engagement_id = Column(String(100), primary_key=True)
    name = Column(String(64), primary_key=True)
    value = Column(Integer, nullable=False, default=0)


# What the Telegram transport remembers across restarts. No personal data (keys are ids or
# keyed hashes, scoped by the bot's public id), except in telegram_waiting.
telegram_updates = Table(
    "telegram_updates", Base.metadata,
    Column("bot_id", String(32), primary_key=True),
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)
telegram_keyboards = Table(
    "telegram_keyboards", Base.metadata,
    Column("key", String(80), primary_key=True),
    Column("pressed_at", DateTime(timezone=True), nullable=False, index=True),
)
telegram_files = Table(
    "telegram_files", Base.metadata,
    Column("key", String(100), primary_key=True),
    Column("file_id", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
telegram_payloads = Table(
    "telegram_payloads", Base.metadata,
    Column("key", String(32), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# Messages for Rasa, kept from their arrival, so that no restart or crash of the transport loses
# them. The participant's words and chat id stay only until a second after Rasa answers,
# patience runs out or their data are erased.
telegram_waiting = Table(
    "telegram_waiting", Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bot_id", String(32), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("sender", String(64), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("language", String(35)),
    Column("kept_at", DateTime(timezone=True), nullable=False),
    # How many of the messages answering it Telegram has shown already: after a crash part-way
    # through a turn, only the rest are sent.
    Column("delivered", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("bot_id", "message_id"),
)
