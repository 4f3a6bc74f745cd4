"""The participant's rights over their data: see it, erase it, and purge old data by the same path."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.orm import sessionmaker

from bot.store import queries, safeguarding_queries
from bot.store.db import scrub_deleted
from bot.store.models import (ERASURE_HELD, HELD_STATUSES, PURGE_HELD, Answer, Consent, Contact,
                              Participant, SafeguardingAlert, telegram_waiting)

log = logging.getLogger(__name__)
ERASE_AGAIN_AFTER = (2.0, 10.0)  # Rasa saves a turn after its actions ran: erase once more


@dataclasses.dataclass(frozen=True)
class Erasure:
    """What an erasure did."""

    found: bool
    answers_deleted: int
    answers_held: int  # everything held for the lead: flagged answers and messages
    messages_held: int = 0  # of those, messages that were not answers


class DataRights:
    """Builds a participant's record and erases it, from our store and Rasa's tracker store."""

    def __init__(self, sessions: sessionmaker, pseudonym: Callable[[str], str],
                 delete_conversation: Callable[[str], int], audio=None,
                 delete_written_back: Optional[Callable[[str], int]] = None):
        self._sessions = sessions
        self._pseudonym = pseudonym
        self._delete_conversation = delete_conversation
        # After the turn: only what Rasa wrote back of the erased conversation, so a new one
        # begun straight after is kept (default: the whole conversation again).
        self._delete_written_back = delete_written_back or delete_conversation
        self._audio = audio  # the AudioCache holding messages read aloud with their words in

    def record(self, sender_id: str) -> Optional[dict]:
        """Everything stored about this participant, as plain data (None if nothing): what they
        gave since they came back, and what is held for the lead from before."""
        pseudonym = self._pseudonym(sender_id)
        with self._sessions() as session:
            current = queries.get_participant(session, pseudonym=pseudonym)
            held = queries.get_participant(session, pseudonym=held_pseudonym(pseudonym))
            people = [p for p in (held, current) if p is not None]
            if not people:
                return None
            person = people[-1]
            consents = session.execute(select(Consent).where(
                Consent.participant_id == person.id).order_by(Consent.id)).scalars()
            contact = session.execute(select(Contact).where(
                Contact.participant_id == person.id)).scalar_one_or_none()
            answers = [answer_record(answer, someone) for someone in people
                       for answer in queries.answers_for(session, participant=someone)]
            # Messages that were not answers but may tell of harm: kept for the safety lead.
            for_lead = [{"text": alert.text, "when": alert.created_at.isoformat()}
                        for alert in session.execute(select(SafeguardingAlert).where(
                            SafeguardingAlert.participant_id.in_([p.id for p in people]),
                            SafeguardingAlert.answer_id.is_(None)).order_by(
                            SafeguardingAlert.id)).scalars()]
            return {
                "participant": {"id": pseudonym, "role": person.role,
                                "roles_used": roles_used(answers),
                                "person_agrees": person.person_agrees, "sound": person.sound,
                                "wants_updates": person.wants_updates,
                                "language": person.language, "status": person.status,
                                "started": person.created_at.isoformat()},
                "consent": [{"version": c.version, "agreed": c.agreed,
                             "when": c.created_at.isoformat()} for c in consents],
                "contact": {"channel": contact.channel} if contact else None,
                "answers": answers,
                "kept_for_safety_lead": for_lead,
            }

    def erase(self, sender_id: str, *, actor: str = "participant",
              background: bool = True) -> Erasure:
        """Erase the participant; answers under a safeguarding flag are held for the lead."""
        pseudonym = self._pseudonym(sender_id)
        with self._sessions.begin() as session:
            result = erase_participant(session, pseudonym=pseudonym)
            # Words the Telegram transport still keeps for Rasa (until a second after it answers) go too.
            session.execute(delete(telegram_waiting).where(telegram_waiting.c.sender == sender_id))
            safeguarding_queries.add_audit(
                session, actor=actor, action="erasure",
                detail=f"{pseudonym[:8]}: {result.answers_deleted} answers deleted, "
                       f"{result.answers_held} held for the safeguarding lead")
            engine = session.get_bind()
        scrub_deleted(engine)
        self.erase_conversation(sender_id, background=background)
        self._erase_audio(pseudonym)
        return result

    def _erase_audio(self, pseudonym: str) -> int:
        if self._audio is None:
            return 0
        try:
            return self._audio.erase_owner(pseudonym)
        except OSError as exc:
            log.error("Could not erase a participant's audio: %s", exc.__class__.__name__)
            return 0

    def erase_conversation(self, sender_id: str, background: bool = True) -> None:
        """Delete Rasa's stored events for this conversation, now and again after the turn."""
        self._delete_conversation(sender_id)
        if background:
            threading.Thread(target=self._erase_later, args=(sender_id,), daemon=True,
                             name="erase-conversation").start()

    def _erase_later(self, sender_id: str) -> None:
        for delay in ERASE_AGAIN_AFTER:
            time.sleep(delay)
            try:
                self._delete_written_back(sender_id)
            except Exception as exc:
                log.error("Could not erase a conversation: %s", exc.__class__.__name__)

    def purge(self, older_than: timedelta, *, dry_run: bool, actor: str,
              delete_old_events: Callable[[float, bool], int]) -> "Purge":
        """Erase everyone inactive for this long, by the same path as a participant's request."""
        cutoff = datetime.now(timezone.utc) - older_than
        with self._sessions.begin() as session:
            # Inactive: no change to their record and no answer since the cut-off.
            stale = [pseudonym for pseudonym, status, active in queries.last_active(session)
                     if active < cutoff and status not in HELD_STATUSES]
            deleted = held = messages = kept = 0
            for pseudonym in stale:
                if dry_run:  # what the erasure below would do, by the same rule
                    person = queries.get_participant(session, pseudonym=pseudonym)
                    waiting, answers = _held_items(session, person)
                    result = _erasure(answers, waiting)
                else:
                    result = erase_participant(session, pseudonym=pseudonym, held_status=PURGE_HELD)
                deleted, held = deleted + result.answers_deleted, held + result.answers_held
                messages += result.messages_held
                kept += result.answers_held > 0
            events = delete_old_events(cutoff.timestamp(), dry_run)
            if not dry_run:
                # Their audio, and any personal audio nobody has touched since the cut-off.
                untouched = self._audio.personal_owners(cutoff.timestamp()) if self._audio else []
                for owner in {*stale, *untouched}:
                    self._erase_audio(owner)
                safeguarding_queries.add_audit(
                    session, actor=actor, action="purge",
                    detail=f"older than {older_than.days} days: {len(stale) - kept} participants "
                           f"removed, {kept} held, {deleted} answers deleted, "
                           f"{held - messages} held, {messages} messages held, "
                           f"{events} chat events")
            engine = session.get_bind()
        if not dry_run:
            scrub_deleted(engine)
        return Purge(len(stale) - kept, deleted, held - messages, events, kept, messages)


@dataclasses.dataclass(frozen=True)
class Purge:
    """What a purge removed (or, on a dry run, would remove), and what it kept for the lead."""

    participants: int  # removed altogether
    answers_deleted: int
    answers_held: int
    events: int
    participants_held: int = 0  # the rest of them removed; flagged answers wait for the lead
    messages_held: int = 0  # messages (not answers) whose alert is open, held likewise


def answer_record(answer: Answer, person: Participant) -> dict:
    """One answer in a participant's record; one given for someone says whether that person
    agreed, as the carer said when answering (kept on the answer, whatever they say later)."""
    record = {"question": answer.question_id, "text": answer.text,
              "role": answer.role or person.role, "when": answer.created_at.isoformat(),
              "themes": [{"theme": t.theme_id, "source": t.source} for t in answer.themes]}
    if record["role"] == "on_behalf":
        record["person_agrees"] = answer.person_agrees
    return record


def roles_used(answers: List[dict]) -> List[dict]:
    """Each role a record's answers were given in, first used first, with its answer count."""
    counts = Counter(answer["role"] for answer in answers)  # keeps the order roles first came
    return [{"role": role, "answers": count} for role, count in counts.items()]


def erase_participant(session, *, pseudonym: str, held_status: str = ERASURE_HELD) -> Erasure:
    """Delete a participant and everything of theirs, except answers under a safeguarding flag
    and messages whose alert is still open (then the participant is kept with held_status: who
    asked, the person or the purge). Alerts the lead dismissed as false alarms lose the words."""
    from bot.safeguarding.alerts import ERASED_TEXT, PURGED_TEXT

    person = queries.get_participant(session, pseudonym=pseudonym)
    if person is None:
        # Asked again, with nothing new since: what is held from before is still held.
        earlier = queries.get_participant(session, pseudonym=held_pseudonym(pseudonym))
        if earlier is None:
            return Erasure(False, 0, 0)
        return _erasure([], _held_items(session, earlier)[0])
    alerts = safeguarding_queries.alerts_of(session, participant_id=person.id)
    for alert in alerts:
        if alert.status == "resolved" and alert.resolved_action == "dismiss":
            alert.text = ERASED_TEXT if held_status == ERASURE_HELD else PURGED_TEXT
    held, answers = _held_items(session, person, alerts)
    if not held:
        session.delete(person)  # answers, tags, consent, contact and notices go with it
        return _erasure(answers, held)
    doomed = [a.id for a in answers if not a.flagged]
    if doomed:
        session.execute(delete(Answer).where(Answer.id.in_(doomed)))
    session.execute(delete(Consent).where(Consent.participant_id == person.id))
    session.execute(delete(Contact).where(Contact.participant_id == person.id))
    # What is held waits under another name, found from theirs: someone who comes back starts
    # afresh (not at their old question), and the request waits for the lead all the same.
    earlier = queries.get_participant(session, pseudonym=held_pseudonym(pseudonym))
    if earlier is None:
        person.pseudonym = held_pseudonym(pseudonym)
        person.sound = person.wants_updates = person.language = person.person_agrees = None
        person.question_index = 0
        person.status = held_status
    else:  # held once already, and asked again after coming back: all of it in one place
        session.execute(update(Answer).where(Answer.participant_id == person.id)
                        .values(participant_id=earlier.id))
        session.execute(update(SafeguardingAlert).where(
            SafeguardingAlert.participant_id == person.id).values(participant_id=earlier.id))
        session.expire(person)
        session.delete(person)
        earlier.status = held_status
    return _erasure(answers, held)


def _erasure(answers, held) -> Erasure:
    """What erasing these answers does when these items are held for the lead."""
    messages = sum(not isinstance(item, Answer) for item in held)
    return Erasure(True, sum(not a.flagged for a in answers), len(held), messages)


def held_pseudonym(pseudonym: str) -> str:
    """The name a participant's held record is kept under once they asked for erasure (or the
    purge did): not theirs, so that coming back starts afresh, but found from theirs."""
    return "held-" + hashlib.sha256(pseudonym.encode("utf-8")).hexdigest()[:48]


def _held_items(session, person: Participant, alerts=None):
    """What an erasure must hold for the lead (flagged answers, and messages whose alert is
    open), and all the person's answers."""
    if alerts is None:
        alerts = safeguarding_queries.alerts_of(session, participant_id=person.id)
    answers = queries.answers_for(session, participant=person)
    # A message said outside the questions (even before taking part) and still waiting for the
    # lead is held like a flagged answer.
    held = [a for a in answers if a.flagged] + [
        alert for alert in alerts if alert.status == "open" and alert.answer_id is None]
    return held, answers
