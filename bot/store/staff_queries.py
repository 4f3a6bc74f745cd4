"""Store functions for the staff side: exports, report figures, actions, notifications, audit."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from sqlalchemy import and_, case, delete, false, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.store.db import lock_for_writing
from bot.store.models import (Answer, AnswerTheme, AuditEntry, Contact, Notification, Participant,
                              StaffAction)

HUMAN_SOURCES = ("participant", "staff")
# Notification.sent_at cannot be NULL yet, so a claimed but unconfirmed message carries this
# marker until the send is confirmed (see bot/staff/notify.py for why).
PENDING_SENT_AT = datetime(1970, 1, 1, tzinfo=timezone.utc)


# ---- an answer's themes ---------------------------------------------------------------------
def effective_theme_ids(tags: Iterable[Tuple[str, str]]) -> List[str]:
    """An answer's themes from its (theme_id, source) tags: a person's tags replace auto ones."""
    tags = list(tags)
    human = [theme for theme, source in tags if source in HUMAN_SOURCES]
    chosen = human if human else [theme for theme, source in tags if source == "auto"]
    return list(dict.fromkeys(chosen))


def _is_effective(tag) -> object:
    """SQL: this tag counts as one of its answer's themes (the rule of effective_theme_ids)."""
    other = aliased(AnswerTheme)
    has_human_tag = select(other.id).where(other.answer_id == tag.answer_id,
                                           other.source.in_(HUMAN_SOURCES)).exists()
    return or_(tag.source.in_(HUMAN_SOURCES), and_(tag.source == "auto", ~has_human_tag))


def _has_theme(theme_ids: Sequence[str]) -> object:
    """SQL: the answer in the outer query has one of these themes."""
    tag = aliased(AnswerTheme)
    return select(tag.id).where(tag.answer_id == Answer.id, tag.theme_id.in_(list(theme_ids)),
                                _is_effective(tag)).exists()


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    """A stored time as an aware UTC datetime (SQLite gives back naive UTC times)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# ---- exports --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class AnswerFilter:
    """Which answers an export covers (with any of the themes, to any of the questions, if
    given); times are inclusive bounds in UTC."""

    theme_ids: Tuple[str, ...] = ()
    question_ids: Tuple[str, ...] = ()
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    include_flagged: bool = False


@dataclasses.dataclass(frozen=True)
class ExportRow:
    """One answer as exported: who (pseudonym), in which role, what, its tags, where and when."""

    answer_id: int
    pseudonym: str
    role: Optional[str]
    question_id: str
    text: str
    channel: str
    created_at: datetime
    tags: Tuple[Tuple[str, str], ...]  # (theme_id, source), by theme id
    themes_set_by: Optional[str] = None  # a person who chose the themes (perhaps none)
    flagged: bool = False  # under a safeguarding flag (only with include_flagged)

    @property
    def theme_ids(self) -> List[str]:
        """The answer's themes (a person's tags replace automatic ones)."""
        return effective_theme_ids(self.tags)


def _conditions(answer_filter: AnswerFilter) -> list:
    conditions = []
    if not answer_filter.include_flagged:
        conditions.append(Answer.flagged == false())
    if answer_filter.question_ids:
        conditions.append(Answer.question_id.in_(list(answer_filter.question_ids)))
    if answer_filter.since is not None:
        conditions.append(Answer.created_at >= as_utc(answer_filter.since))
    if answer_filter.until is not None:
        conditions.append(Answer.created_at <= as_utc(answer_filter.until))
    if answer_filter.theme_ids:
        conditions.append(_has_theme(answer_filter.theme_ids))
    return conditions


def begin_snapshot(session: Session) -> None:
    """Make the rest of this transaction read one snapshot (PostgreSQL; SQLite needs nothing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def count_export(session: Session, *, answer_filter: AnswerFilter) -> int:
    """How many answers an export with this filter will hold."""
    return session.execute(
        select(func.count(Answer.id)).where(*_conditions(answer_filter))
    ).scalar_one()


def export_batches(session: Session, *, answer_filter: AnswerFilter,
                   batch_size: int = 2000) -> Iterator[List[ExportRow]]:
    """The filtered answers, oldest id first, in batches (keyset paging keeps memory flat)."""
    conditions = _conditions(answer_filter)
    connection = session.connection()  # plain rows: no ORM bookkeeping for 100,000 of them
    last_id = 0
    while True:
        # Pick the batch's answers first, then join: PostgreSQL then looks up each participant
        # by key instead of hashing the whole participants table for every batch.
        page = (select(Answer.id, Answer.participant_id, Answer.role, Answer.question_id,
                       Answer.text, Answer.channel, Answer.created_at, Answer.themes_set_by,
                       Answer.flagged)
                .where(Answer.id > last_id, *conditions)
                .order_by(Answer.id).limit(batch_size).subquery())
        rows = connection.execute(
            select(page.c.id, Participant.pseudonym, func.coalesce(page.c.role, Participant.role),
                   page.c.question_id, page.c.text, page.c.channel, page.c.created_at,
                   page.c.themes_set_by, page.c.flagged)
            .join(Participant, Participant.id == page.c.participant_id)
            .order_by(page.c.id)
        ).all()
        if not rows:
            return
        first_id, last_id = rows[0][0], rows[-1][0]
        tags: Dict[int, List[Tuple[str, str]]] = {}
        for answer_id, theme_id, source in connection.execute(
            select(AnswerTheme.answer_id, AnswerTheme.theme_id, AnswerTheme.source)
            .where(AnswerTheme.answer_id >= first_id, AnswerTheme.answer_id <= last_id)
            .order_by(AnswerTheme.answer_id, AnswerTheme.theme_id)
        ):
            tags.setdefault(answer_id, []).append((theme_id, source))
        yield [ExportRow(answer_id, pseudonym, role, question_id, text, channel,
                         as_utc(created_at), tuple(tags.get(answer_id, ())), set_by, bool(flagged))
               for answer_id, pseudonym, role, question_id, text, channel, created_at, set_by,
               flagged in rows]
        if len(rows) < batch_size:
            return


# ---- report figures (flagged answers never count) ---------------------------------------------
def _answer_role() -> object:
    """SQL: the role an answer was given in (older answers without one: the participant's)."""
    return func.coalesce(Answer.role, Participant.role)


def people_by_role(session: Session) -> Dict[Optional[str], int]:
    """People with unflagged answers, by the roles they answered in (None: not said).

    Someone who answered in two roles counts under both, so the counts can add up to more
    than count_people().
    """
    role = _answer_role()
    rows = session.execute(
        select(role, func.count(func.distinct(Answer.participant_id)))
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Answer.flagged == false())
        .group_by(role)
    ).all()
    return {role: count for role, count in rows}


def count_people(session: Session) -> int:
    """How many people gave at least one unflagged answer."""
    return session.execute(
        select(func.count(func.distinct(Answer.participant_id))).where(Answer.flagged == false())
    ).scalar_one()


def count_people_in_several_roles(session: Session) -> int:
    """How many people gave unflagged answers in more than one role."""
    # '' stands in for "not said" so that count(distinct) does not skip it.
    role = func.coalesce(_answer_role(), "")
    several = (select(Answer.participant_id)
               .join(Participant, Participant.id == Answer.participant_id)
               .where(Answer.flagged == false())
               .group_by(Answer.participant_id)
               .having(func.count(func.distinct(role)) > 1)
               .subquery())
    return session.execute(select(func.count()).select_from(several)).scalar_one()


def answers_by_question(session: Session) -> Dict[str, int]:
    """Unflagged answers per question id."""
    rows = session.execute(
        select(Answer.question_id, func.count(Answer.id)).where(Answer.flagged == false())
        .group_by(Answer.question_id)
    ).all()
    return {question_id: count for question_id, count in rows}


def answers_by_theme(session: Session) -> Dict[str, int]:
    """Unflagged answers per theme (an answer's own themes; one answer may count for several)."""
    tag = aliased(AnswerTheme)
    rows = session.execute(
        select(tag.theme_id, func.count(func.distinct(tag.answer_id)))
        .join(Answer, Answer.id == tag.answer_id)
        .where(Answer.flagged == false(), _is_effective(tag))
        .group_by(tag.theme_id)
    ).all()
    return {theme_id: count for theme_id, count in rows}


def count_unthemed(session: Session, *, decided: bool = False) -> int:
    """Unflagged answers with no theme at all that nobody has decided on yet (decided: those a
    participant or staff said fit none of the themes)."""
    return session.execute(
        select(func.count(Answer.id)).where(
            Answer.flagged == false(),
            Answer.themes_set_by.isnot(None) if decided else Answer.themes_set_by.is_(None),
            ~select(AnswerTheme.id).where(AnswerTheme.answer_id == Answer.id).exists())
    ).scalar_one()


@dataclasses.dataclass(frozen=True)
class Quote:
    """An answer quoted in the report, with the role it was given in (None: not said)."""

    text: str
    role: Optional[str]


def quotes_for_theme(session: Session, *, theme_id: str, limit: int = 3) -> List[Quote]:
    """Unflagged answers with this theme, best first: a person's tag, then the highest score;
    each with its role, so a carer's words are never shown as the participant's own."""
    tag = aliased(AnswerTheme)
    rows = session.execute(
        select(Answer.text, _answer_role()).join(tag, tag.answer_id == Answer.id)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(tag.theme_id == theme_id, Answer.flagged == false(), _is_effective(tag))
        .order_by(case((tag.source.in_(HUMAN_SOURCES), 0), else_=1),
                  func.coalesce(tag.score, -1.0).desc(), Answer.id)
        .limit(limit)
    ).all()
    return [Quote(text, role) for text, role in rows]


# ---- one participant ------------------------------------------------------------------------
def count_participant_answers(session: Session, *, participant_id: int) -> int:
    """How many answers this participant gave (flagged ones too: they gave them)."""
    return session.execute(
        select(func.count(Answer.id)).where(Answer.participant_id == participant_id)
    ).scalar_one()


def participant_theme_ids(session: Session, *, participant_id: int,
                          leave_out_answer: Optional[int] = None) -> List[str]:
    """The themes of a participant's unflagged answers, in the order they first came up.

    leave_out_answer: an answer whose themes the participant is still checking; the tagger's
    guess for it is not theirs yet."""
    query = (select(Answer.id, AnswerTheme.theme_id, AnswerTheme.source)
             .join(AnswerTheme, AnswerTheme.answer_id == Answer.id)
             .where(Answer.participant_id == participant_id, Answer.flagged == false()))
    if leave_out_answer is not None:
        query = query.where(Answer.id != leave_out_answer)
    rows = session.execute(query.order_by(Answer.created_at, Answer.id, AnswerTheme.theme_id)).all()
    by_answer: Dict[int, List[Tuple[str, str]]] = {}
    for answer_id, theme_id, source in rows:
        by_answer.setdefault(answer_id, []).append((theme_id, source))
    themes: Dict[str, None] = {}
    for tags in by_answer.values():
        themes.update(dict.fromkeys(effective_theme_ids(tags)))
    return list(themes)


# ---- you said, we did -----------------------------------------------------------------------
def add_action(session: Session, *, theme_id: str, text: str, status: str) -> StaffAction:
    """Store a new action at revision 1."""
    action = StaffAction(theme_id=theme_id, text=text, status=status, revision=1)
    session.add(action)
    session.flush()
    return action


def get_action(session: Session, *, action_id: int,
               for_update: bool = False) -> Optional[StaffAction]:
    """The action with this id, or None; for_update: locked until the transaction ends, so two
    updates at once take turns (call it before anything else in the transaction)."""
    if not for_update:
        return session.get(StaffAction, action_id)
    lock_for_writing(session)
    return session.get(StaffAction, action_id, with_for_update=True, populate_existing=True)


def list_actions(session: Session, *,
                 theme_ids: Optional[Sequence[str]] = None) -> List[StaffAction]:
    """Actions (for these themes only, if given), by theme then id."""
    statement = select(StaffAction).order_by(StaffAction.theme_id, StaffAction.id)
    if theme_ids is not None:
        if not theme_ids:
            return []
        statement = statement.where(StaffAction.theme_id.in_(list(theme_ids)))
    return list(session.execute(statement).scalars())


# ---- notifications --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Recipient:
    """A participant who agreed to updates, and where to reach them."""

    participant_id: int
    pseudonym: str
    channel: str
    address: str
    sound: bool = False  # they chose to hear messages read aloud


def update_recipients(session: Session) -> List[Recipient]:
    """Participants who said yes to updates and left a contact, by id."""
    rows = session.execute(
        select(Participant.id, Participant.pseudonym, Contact.channel, Contact.address,
               Participant.sound.is_(True))
        .join(Contact, Contact.participant_id == Participant.id)
        .where(Participant.wants_updates.is_(True))
        .order_by(Participant.id)
    ).all()
    return [Recipient(*row[:4], sound=bool(row[4])) for row in rows]


def wants_updates(session: Session, *, participant_id: int) -> bool:
    """True only if this participant agreed to updates (and has not stopped them)."""
    value = session.execute(
        select(Participant.wants_updates).where(Participant.id == participant_id)
    ).scalar_one_or_none()
    return value is True


def notified_revisions(session: Session, *, participant_id: int) -> Set[Tuple[int, int]]:
    """(action id, revision) pairs already sent to this participant, or claimed for sending."""
    rows = session.execute(
        select(Notification.action_id, Notification.revision)
        .where(Notification.participant_id == participant_id)
    ).all()
    return {(action_id, revision) for action_id, revision in rows}


def delivered_revisions(session: Session, *, participant_id: int) -> Set[Tuple[int, int]]:
    """(action id, revision) pairs confirmed as sent to this participant (claims left out)."""
    rows = session.execute(
        select(Notification.action_id, Notification.revision)
        .where(Notification.participant_id == participant_id,
               Notification.sent_at != PENDING_SENT_AT)
    ).all()
    return {(action_id, revision) for action_id, revision in rows}


def claim_notifications(session: Session, *, participant_id: int,
                        items: Sequence[Tuple[int, int]]) -> List[int]:
    """Record (action id, revision) pairs as about to be sent; IntegrityError if already there."""
    rows = [Notification(participant_id=participant_id, action_id=action_id, revision=revision,
                         sent_at=PENDING_SENT_AT) for action_id, revision in items]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def confirm_notifications(session: Session, *, notification_ids: Sequence[int],
                          sent_at: datetime) -> None:
    """Mark claimed notifications as delivered at this time."""
    session.execute(update(Notification).where(Notification.id.in_(list(notification_ids)))
                    .values(sent_at=sent_at))


def release_notifications(session: Session, *, notification_ids: Sequence[int]) -> None:
    """Forget claims for messages that certainly did not go, so a later run sends them."""
    session.execute(delete(Notification).where(Notification.id.in_(list(notification_ids))))


def unconfirmed_notifications(session: Session) -> List[Notification]:
    """Claims never confirmed: the message may or may not have reached the participant."""
    return list(session.execute(
        select(Notification).where(Notification.sent_at == PENDING_SENT_AT)
        .order_by(Notification.id)
    ).scalars())


# ---- audit ----------------------------------------------------------------------------------
def add_audit(session: Session, *, actor: str, action: str, detail: dict) -> AuditEntry:
    """Record who did what; detail is stored as JSON and must hold no answer text."""
    entry = AuditEntry(actor=actor, action=action,
                       detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str))
    session.add(entry)
    session.flush()
    return entry


def audit_entries(session: Session, *, action: Optional[str] = None) -> List[AuditEntry]:
    """Audit entries, oldest first (of one action, if given)."""
    statement = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    return list(session.execute(statement).scalars())
