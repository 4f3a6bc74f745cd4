"""The conversation service: consent, role, answers and progress for one participant."""
from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Optional

from sqlalchemy.orm import Session, sessionmaker

from bot.engagement import Engagement, Question
from bot.identity import Pseudonymizer
from bot.safeguarding.detector import Detection
from bot.store import queries, safeguarding_queries, staff_queries
from bot.text import without_lone_surrogates

if TYPE_CHECKING:  # pragma: no cover
    from bot.safeguarding.alerts import AlertService

log = logging.getLogger(__name__)

DECLINED_COUNTER = "consent_declined"
MAX_ANSWER_CHARS = 10_000
# Control characters other than tab and line breaks: invisible, and PostgreSQL refuses NUL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable(text: str) -> str:
    """The words as typed, without invisible control characters (a NUL would make PostgreSQL
    refuse the whole answer); a lone half of a character pair becomes the replacement mark."""
    return without_lone_surrogates(_CONTROL.sub("", text or ""))


FLOOD_ANSWERS = 20          # more answers than this ...
FLOOD_WINDOW = timedelta(seconds=60)  # ... in this time is a flood, not a conversation


@dataclasses.dataclass(frozen=True)
class SaveResult:
    """What happened to a saved answer: new or already stored, and any disclosure found."""

    created: bool
    disclosure: Optional[Detection] = None
    refused: Optional[str] = None  # "too_long" or "flood": not stored, say why
    answer_id: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Progress:
    """Where a participant is in the conversation."""

    known: bool
    consented: bool
    role: Optional[str]
    person_agrees: Optional[bool]
    question_index: int
    status: str
    answer_count: int
    wants_updates: Optional[bool] = None  # None: not asked, or not answered yet

    @property
    def on_behalf(self) -> bool:
        """True when someone answers for the person they support."""
        return self.role == "on_behalf"


class ConversationService:
    """Records what a participant tells the assistant; one transaction per call."""

    def __init__(self, session_factory: sessionmaker, engagement: Engagement,
                 pseudonymizer: Pseudonymizer, alerts: Optional["AlertService"] = None):
        self._sessions = session_factory
        self.engagement = engagement
        self._pseudonymizer = pseudonymizer
        self._alerts = alerts

    def pseudonym(self, sender_id: str) -> str:
        """The stored pseudonym for a Rasa sender id."""
        return self._pseudonymizer.pseudonym(sender_id)

    def _participant(self, session: Session, sender_id: str, channel: str = "unknown"):
        return queries.get_or_create_participant(
            session, pseudonym=self.pseudonym(sender_id), engagement_id=self.engagement.id,
            channel=channel)

    def progress(self, sender_id: str) -> Progress:
        """Where this sender is; an unknown sender is at the very start."""
        with self._sessions() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is None:
                return Progress(False, False, None, None, 0, "in_progress", 0)
            consent = queries.latest_consent(session, participant=participant)
            consented = bool(consent and consent.agreed
                             and consent.version == self.engagement.consent_version)
            return Progress(True, consented, participant.role, participant.person_agrees,
                            participant.question_index, participant.status,
                            queries.count_participant_answers(session, participant=participant),
                            participant.wants_updates)

    def give_consent(self, sender_id: str, *, channel: str, language: Optional[str] = None) -> None:
        """Record that the participant agreed to take part."""
        with self._sessions.begin() as session:
            participant = self._participant(session, sender_id, channel)
            if language and not participant.language:
                participant.language = language
            participant.status = "in_progress"
            queries.record_consent(session, participant=participant,
                                   version=self.engagement.consent_version, agreed=True)

    def refuse_consent(self, sender_id: str) -> None:
        """Count a refusal; someone new leaves nothing else, someone known gets a 'no' record."""
        with self._sessions.begin() as session:
            queries.increment_counter(session, engagement_id=self.engagement.id,
                                      name=DECLINED_COUNTER)
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is None:
                return
            if queries.latest_consent(session, participant=participant) is None \
                    and not queries.answers_for(session, participant=participant):
                session.delete(participant)  # only a sound choice was kept: remove it
            else:
                queries.record_consent(session, participant=participant,
                                       version=self.engagement.consent_version, agreed=False)

    def withdraw_consent(self, sender_id: str) -> None:
        """Record that the participant no longer agrees to take part; nothing is deleted."""
        with self._sessions.begin() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is None:
                return
            queries.record_consent(session, participant=participant,
                                   version=self.engagement.consent_version, agreed=False)
            participant.status = "paused"

    def set_role(self, sender_id: str, role: str) -> None:
        """Record whether they answer for themselves, for someone, or as a support worker."""
        with self._sessions.begin() as session:
            participant = self._participant(session, sender_id)
            participant.role = role
            if role != "on_behalf":
                participant.person_agrees = None

    def set_person_agrees(self, sender_id: str, agrees: bool) -> None:
        """Record whether the person a carer answers for knows and agrees."""
        with self._sessions.begin() as session:
            self._participant(session, sender_id).person_agrees = agrees


    def save_answer(self, sender_id: str, *, text: str, channel: str, message_id: str,
                    intent_confidence: Optional[float] = None) -> SaveResult:
        """Store an answer to the current question once, screened for disclosures of harm."""
        text = storable(text)
        detection = self._screen(text, intent_confidence)
        if len(text) > MAX_ANSWER_CHARS and detection is None:
            return SaveResult(False, refused="too_long")
        alert_id = None
        with self._sessions.begin() as session:
            participant = self._participant(session, sender_id, channel)
            since = datetime.now(timezone.utc) - FLOOD_WINDOW
            if detection is None and queries.count_recent_answers(
                    session, participant=participant, since=since) >= FLOOD_ANSWERS:
                return SaveResult(False, refused="flood")
            question = self.engagement.question(participant.question_index) \
                or self.engagement.questions[-1]
            answer, created = queries.save_answer(
                session, participant=participant, question_id=question.id, text=text,
                channel=channel, channel_message_id=message_id, flagged=detection is not None)
            if not created:
                log.info("Answer for message %s was already stored", message_id)
                return SaveResult(False, detection if answer.flagged else None, answer_id=answer.id)
            if detection is not None:
                alert_id = self._alerts.raise_alert(
                    session, detection=detection, text=text, channel=channel,
                    role=participant.role, participant_id=participant.id, answer_id=answer.id)
            role, answer_id = participant.role, answer.id
        if alert_id is not None:
            self._alerts.deliver_soon(alert_id, detection, channel, role)
        return SaveResult(True, detection, answer_id=answer_id)

    def screen_message(self, sender_id: str, *, text: str, channel: str,
                       intent_confidence: Optional[float] = None) -> Optional[Detection]:
        """Check a message that is not an answer; a disclosure raises an alert all the same."""
        text = storable(text)
        detection = self._screen(text, intent_confidence)
        if detection is None:
            return None
        with self._sessions.begin() as session:
            # Even before taking part, what they said is theirs: it shows in their record, and
            # a request to delete it waits for the lead, as for an answer.
            participant = queries.lock_participant(session, self._participant(session, sender_id, channel))
            if safeguarding_queries.open_alert_with_text(session, participant_id=participant.id,
                                                         text=text) is not None:
                log.info("The same possible disclosure came again; its alert is open already")
                return detection
            role = participant.role
            alert_id = self._alerts.raise_alert(
                session, detection=detection, text=text, channel=channel, role=role,
                participant_id=participant.id)
        self._alerts.deliver_soon(alert_id, detection, channel, role)
        return detection

    def _screen(self, text: str, intent_confidence: Optional[float]) -> Optional[Detection]:
        if self._alerts is None:
            return None
        detection = self._alerts.assess(text, intent_confidence)
        return detection if detection.disclosure else None

    def next_question(self, sender_id: str) -> Optional[Question]:
        """Move on to the next question; None (and finished) after the last one."""
        with self._sessions.begin() as session:
            participant = self._participant(session, sender_id)
            participant.question_index += 1
            question = self.engagement.question(participant.question_index)
            participant.status = "in_progress" if question else "finished"
            return question

    def pause(self, sender_id: str) -> None:
        """Mark the participant as paused; everything they said is kept."""
        with self._sessions.begin() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is not None and participant.status != "finished":
                participant.status = "paused"

    def resume(self, sender_id: str) -> None:
        """Mark a paused participant as taking part again."""
        with self._sessions.begin() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is not None and participant.status == "paused":
                participant.status = "in_progress"

    def start_again(self, sender_id: str) -> None:
        """Go back to the first question; stored answers are kept."""
        with self._sessions.begin() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is not None:
                participant.question_index = 0
                participant.status = "in_progress"

    def sound_preference(self, sender_id: str) -> Optional[bool]:
        """True if the participant wants messages read aloud, False if not, None if not asked."""
        with self._sessions() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            return None if participant is None else participant.sound

    def set_sound(self, sender_id: str, on: bool, *, channel: str = "unknown") -> None:
        """Keep the participant's choice to hear messages or not."""
        with self._sessions.begin() as session:
            self._participant(session, sender_id, channel).sound = on

    def you_said_we_did(self, sender_id: str, *, checking_answer: Optional[int] = None):
        """What this participant told us about, and what staff do about those themes only.

        checking_answer: the answer whose themes they are checking now; the tagger's guess for
        it is left out until they say it is right."""
        from bot.staff.actions import summary_for

        with self._sessions() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is None:
                return None
            return summary_for(session, participant_id=participant.id,
                               leave_out_answer=checking_answer)

    def news_not_sent(self, sender_id: str, actions) -> list:
        """These actions (from you_said_we_did) less those `notify` has sent this participant
        as they are now (the same revision)."""
        with self._sessions() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            sent = set() if participant is None else staff_queries.delivered_revisions(
                session, participant_id=participant.id)
        return [action for action in actions if (action.id, action.revision) not in sent]

    def set_updates(self, sender_id: str, wanted: bool) -> bool:
        """Keep the choice to get news (the transport keeps the address to send it to). No
        news: the address to send it to is deleted, as it is kept only for news."""
        with self._sessions.begin() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is None:
                return False
            participant.wants_updates = wanted
            if not wanted:
                queries.forget_contact(session, participant=participant)
            return True

    def set_contact(self, sender_id: str, *, channel: str, address: str) -> None:
        """Keep where to send news, in the contacts table that erasure removes."""
        with self._sessions.begin() as session:
            participant = queries.get_participant(session, pseudonym=self.pseudonym(sender_id))
            if participant is not None:
                queries.set_contact(session, participant=participant, channel=channel,
                                    address=address)


