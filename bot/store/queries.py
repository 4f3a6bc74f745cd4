"""Store functions: each takes a session first and keyword-only arguments; the caller commits."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import List, Optional, Tuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.db import lock_for_writing
from bot.store.models import Answer, Consent, Contact, Counter, Participant


def get_participant(session: Session, *, pseudonym: str) -> Optional[Participant]:
    """The participant with this pseudonym, or None."""
    return session.execute(
        select(Participant).where(Participant.pseudonym == pseudonym)
    ).scalar_one_or_none()


def lock_participant(session: Session, participant: Participant) -> Participant:
    """The participant's row, locked until the transaction ends (SQLite: the write lock), so two
    messages from them at once take turns."""
    lock_for_writing(session)
    return session.get(Participant, participant.id, with_for_update=True, populate_existing=True)


def last_active(session: Session) -> List[Tuple[str, Optional[str], datetime]]:
    """(pseudonym, status, last activity in UTC) for every participant: the later of their own
    row's last change and their latest answer, since answering does not change the row."""
    latest = (select(Answer.participant_id, func.max(Answer.created_at).label("at"))
              .group_by(Answer.participant_id).subquery())
    rows = session.execute(
        select(Participant.pseudonym, Participant.status, Participant.updated_at, latest.c.at)
        .outerjoin(latest, latest.c.participant_id == Participant.id)
        .order_by(Participant.id)
    ).all()
    return [(pseudonym, status, max(_utc(at) for at in (updated, answered) if at is not None))
            for pseudonym, status, updated, answered in rows]


def _utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives back naive UTC times)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None \
        else moment.astimezone(timezone.utc)


def get_or_create_participant(session: Session, *, pseudonym: str, engagement_id: str,
                              channel: str, language: Optional[str] = None) -> Participant:
    """The participant with this pseudonym, created if new (safe against a race)."""
    participant = get_participant(session, pseudonym=pseudonym)
    if participant is not None:
        return participant
    participant = Participant(pseudonym=pseudonym, engagement_id=engagement_id,
                              channel=channel, language=language)
    try:
        with session.begin_nested():
            session.add(participant)
    except IntegrityError:
        participant = get_participant(session, pseudonym=pseudonym)
        if participant is None:
            raise
    return participant


def record_consent(session: Session, *, participant: Participant, version: str,
                   agreed: bool) -> Consent:
    """Keep what the participant agreed to, and which version of the text."""
    consent = Consent(participant_id=participant.id, version=version, agreed=agreed)
    session.add(consent)
    session.flush()
    return consent


def latest_consent(session: Session, *, participant: Participant) -> Optional[Consent]:
    """The participant's most recent consent record, or None."""
    return session.execute(
        select(Consent).where(Consent.participant_id == participant.id)
        .order_by(Consent.created_at.desc(), Consent.id.desc()).limit(1)
    ).scalar_one_or_none()


def increment_counter(session: Session, *, engagement_id: str, name: str) -> None:
    """Add one to a named count, creating it if needed."""
    result = session.execute(
        update(Counter).where(Counter.engagement_id == engagement_id, Counter.name == name)
        .values(value=Counter.value + 1)
    )
    if result.rowcount:
        return
    try:
        with session.begin_nested():
            session.add(Counter(engagement_id=engagement_id, name=name, value=1))
    except IntegrityError:
        session.execute(
            update(Counter).where(Counter.engagement_id == engagement_id, Counter.name == name)
            .values(value=Counter.value + 1)
        )


def get_counter(session: Session, *, engagement_id: str, name: str) -> int:
    """The value of a named count (0 if never counted)."""
    value = session.execute(
        select(Counter.value).where(Counter.engagement_id == engagement_id, Counter.name == name)
    ).scalar_one_or_none()
    return value or 0


MESSAGE_ID_CHARS = 128  # the answers table's channel_message_id


def reused_message_id(channel_message_id: str, text: str) -> str:
    """The id an answer is kept under when its message id already holds other words (a
    channel, or a REST client, that reused an id): the id with a hash of the words."""
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{channel_message_id[:MESSAGE_ID_CHARS - len(digest) - 1]}~{digest}"


def save_answer(session: Session, *, participant: Participant, question_id: str, text: str,
                channel: str, channel_message_id: str,
                flagged: bool = False) -> Tuple[Answer, bool]:
    """Store an answer once per incoming message; returns the answer and whether it is new.
    The same message delivered again is stored once; other words under a message id already
    used are stored too, under an id of their own (never lost, never twice). The same words
    sent again as an answer to the same question (a second press of Send, a message pasted
    twice) are the answer already stored, not a second one."""
    existing = _answer_for_message(session, participant_id=participant.id,
                                   channel_message_id=channel_message_id)
    if existing is not None and existing.text != text:
        channel_message_id = reused_message_id(channel_message_id, text)
        existing = _answer_for_message(session, participant_id=participant.id,
                                       channel_message_id=channel_message_id)
    if existing is None:
        existing = _same_words(session, participant_id=participant.id, question_id=question_id,
                               role=participant.role, text=text)
    if existing is not None:
        return existing, False
    on_behalf = participant.role == "on_behalf"
    answer = Answer(participant_id=participant.id, question_id=question_id, text=text,
                    role=participant.role, channel=channel, channel_message_id=channel_message_id,
                    flagged=flagged, person_agrees=participant.person_agrees if on_behalf else None)
    try:
        with session.begin_nested():
            session.add(answer)
    except IntegrityError:
        existing = _answer_for_message(session, participant_id=participant.id,
                                       channel_message_id=channel_message_id)
        if existing is None:
            raise
        return existing, False
    return answer, True


def _words(text: str) -> str:
    """Text compared for "the same words": case, spaces and the full stop at the end aside."""
    return " ".join(text.split()).casefold().rstrip(".!? ")


def _same_words(session: Session, *, participant_id: int, question_id: str,
                role: Optional[str], text: str) -> Optional[Answer]:
    """The participant's answer to this question, in the role they answer in now, in the same
    words, if there is one (a carer who then answers for themselves may say the same)."""
    words = _words(text)
    for answer in session.execute(
            select(Answer).where(Answer.participant_id == participant_id,
                                 Answer.question_id == question_id,
                                 Answer.role.is_(None) if role is None else Answer.role == role)
            .order_by(Answer.id)).scalars():
        if _words(answer.text) == words:
            return answer
    return None


def _answer_for_message(session: Session, *, participant_id: int,
                        channel_message_id: str) -> Optional[Answer]:
    return session.execute(
        select(Answer).where(Answer.participant_id == participant_id,
                             Answer.channel_message_id == channel_message_id)
    ).scalar_one_or_none()


def answers_for(session: Session, *, participant: Participant) -> List[Answer]:
    """A participant's answers, oldest first."""
    return list(session.execute(
        select(Answer).where(Answer.participant_id == participant.id)
        .order_by(Answer.created_at, Answer.id)
    ).scalars())


def count_participant_answers(session: Session, *, participant: Participant) -> int:
    """How many answers this participant gave."""
    return session.execute(select(func.count(Answer.id)).where(
        Answer.participant_id == participant.id)).scalar_one()


def count_recent_answers(session: Session, *, participant: Participant, since) -> int:
    """How many answers this participant gave since a moment."""
    return session.execute(select(func.count(Answer.id)).where(
        Answer.participant_id == participant.id, Answer.created_at >= since)).scalar_one()


def count_answers(session: Session) -> int:
    """How many answers are stored in all."""
    return session.execute(select(func.count(Answer.id))).scalar_one()


def forget_contact(session: Session, *, participant: Participant) -> None:
    """Delete the address kept to message the participant (they want no news now)."""
    session.execute(delete(Contact).where(Contact.participant_id == participant.id))


def set_contact(session: Session, *, participant: Participant, channel: str, address: str) -> None:
    """Keep (or replace) the address needed to message the participant later."""
    contact = session.execute(
        select(Contact).where(Contact.participant_id == participant.id)
    ).scalar_one_or_none()
    if contact is None:
        session.add(Contact(participant_id=participant.id, channel=channel, address=address))
    else:
        contact.channel, contact.address = channel, address
    session.flush()
