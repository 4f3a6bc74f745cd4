"""Safeguarding alerts: keep a disclosure, tell the named lead at once, record what they did."""
from __future__ import annotations

import dataclasses
import logging
import smtplib
import threading
import time
from datetime import timezone
from email.message import EmailMessage
from typing import Callable, List, Optional, Protocol, Sequence, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.safeguarding.detector import OTHER_SCRIPT, Detection, detect
from bot.store import safeguarding_queries as store
from bot.store.db import scrub_deleted
from bot.store.models import (ERASURE_HELD, HELD_STATUSES, Answer, Participant,
                              SafeguardingAlert)

log = logging.getLogger(__name__)
# "dismiss": a false alarm. The answer is no longer held apart (it is themed, reported and
# exported like any other), and if its participant asked for an erasure, that goes ahead.
RESOLUTIONS = ("reassure", "report", "record", "dismiss")
ERASED_TEXT = "(deleted at the person's request, after the safeguarding lead's review)"
PURGED_TEXT = "(deleted after the retention period, after the safeguarding lead's review)"
# Seconds to wait before trying a route that failed again: about 12 minutes in all. The
# participant never waits for this (deliver_soon runs it in the background).
RETRY_DELAYS = (5.0, 20.0, 60.0, 180.0, 480.0)
# NLU's disclose_harm intent only strengthens a message the detector already finds worrying:
# a small NLU model is sure about odd short messages too ("and my cakes").
INTENT_NEEDS_SCORE = 0.2


class AlertRoute(Protocol):
    """Somewhere an alert is sent to reach the safeguarding lead."""

    name: str

    def send(self, summary: str) -> None:
        """Deliver the summary or raise an exception."""


@dataclasses.dataclass
class EmailRoute:
    """Alerts by e-mail through an SMTP server."""

    to_address: str
    host: str
    port: int = 25
    sender: str = "coproduce@localhost"
    user: str = ""
    password: str = ""
    name: str = "email"

    def send(self, summary: str) -> None:
        """Send one plain-text e-mail."""
        message = EmailMessage()
        message["Subject"] = "Coproduce safeguarding alert"
        message["From"], message["To"] = self.sender, self.to_address
        message.set_content(summary)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.user:
                smtp.starttls()
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def alert_summary(alert_id: int, detection: Detection, channel: str, role: Optional[str]) -> str:
    """What the lead is told at once: enough to act, and where to read the words."""
    urgency = "POSSIBLE IMMEDIATE DANGER. " if detection.immediate_danger else ""
    unread = " is not in English, so it could not be checked: it" \
        if OTHER_SCRIPT in detection.categories else ""
    return (f"{urgency}Safeguarding alert {alert_id}: a participant's message{unread} may disclose "
            f"harm ({', '.join(detection.categories) or 'unclassified'}; score "
            f"{detection.score:.2f}; channel {channel}; answering as {role or 'unknown'}). "
            f"Read it with `coproduce safeguarding list` and record what you did with "
            f"`coproduce safeguarding resolve {alert_id} --by NAME --action "
            f"reassure|report|record --note TEXT`.")


class AlertService:
    """Raises alerts inside the caller's transaction and delivers them after it commits."""

    def __init__(self, sessions: sessionmaker, routes: List[AlertRoute],
                 detector: Callable[..., Detection] = detect,
                 retry_delays: Sequence[float] = RETRY_DELAYS):
        self._sessions = sessions
        self._routes = routes
        self._detect = detector
        self._retry_delays = tuple(retry_delays)

    def assess(self, text: str, intent_confidence: Optional[float] = None) -> Detection:
        """Check one message for a disclosure; NLU's confidence can tip a borderline one."""
        alone = self._detect(text or "")
        if alone.disclosure or intent_confidence is None or alone.score < INTENT_NEEDS_SCORE:
            return alone
        return self._detect(text or "", intent_confidence=intent_confidence)

    def raise_alert(self, session: Session, *, detection: Detection, text: str, channel: str,
                    role: Optional[str], participant_id: Optional[int],
                    answer_id: Optional[int] = None) -> int:
        """Store the alert (the caller commits); then call deliver_soon with its id."""
        alert = store.add_alert(session, participant_id=participant_id, answer_id=answer_id,
                                text=text, channel=channel, role=role, score=detection.score,
                                categories=list(detection.categories),
                                immediate_danger=detection.immediate_danger)
        log.warning("Safeguarding alert %s raised (%s)", alert.id,
                    ",".join(detection.categories) or "unclassified")
        return alert.id

    def deliver_soon(self, alert_id: int, detection: Detection, channel: str,
                     role: Optional[str]) -> threading.Thread:
        """Send the alert by every route in the background; the participant never waits."""
        thread = threading.Thread(target=self.deliver, args=(alert_id, detection, channel, role),
                                  name=f"alert-{alert_id}", daemon=True)
        thread.start()
        return thread

    def deliver(self, alert_id: int, detection: Detection, channel: str,
                role: Optional[str]) -> Optional[str]:
        """Send the alert by every route; a route that fails is tried again after each of the
        retry delays (seconds) while the alert is still open. Returns the last error, if any."""
        if not self._routes:
            error = "no alert route is set up (see engagement.yml safeguarding)"
            log.error("Safeguarding alert %s not delivered: %s", alert_id, error)
            with self._sessions.begin() as session:
                store.mark_delivery(session, alert_id=alert_id, error=error)
            return error
        summary = alert_summary(alert_id, detection, channel, role)
        routes, error = list(self._routes), None
        for wait in (0.0, *self._retry_delays):
            if wait:
                time.sleep(wait)
                if not self._still_open(alert_id):  # the lead has acted on it already
                    return error
            errors, failed = [], []
            for route in routes:
                try:
                    route.send(summary)
                except Exception as exc:  # one route failing must not stop the others
                    errors.append(f"{route.name}: {exc.__class__.__name__}")
                    failed.append(route)
            error = "; ".join(errors) or None
            with self._sessions.begin() as session:
                store.mark_delivery(session, alert_id=alert_id, error=error)
            if error is None:
                return None
            routes = failed  # only the routes that failed are tried again
            log.error("Safeguarding alert %s not delivered: %s", alert_id, error)
        return error

    def _still_open(self, alert_id: int) -> bool:
        with self._sessions() as session:
            alert = session.get(SafeguardingAlert, alert_id)
            return alert is not None and alert.status == "open"

    def resolve(self, alert_id: int, *, by: str, action: str,
                note: str) -> Optional[Tuple[str, Optional[int]]]:
        """Record who looked at an alert and what they did; raise ValueError if it cannot.

        For a dismissal, returns what became of the words: "back" with the answer's id (put
        back with the others, to be themed), "erased" (the person had asked for their answers to
        be deleted; only the flag held this one back), "purged" (the same, after `coproduce
        purge`), or "not an answer" (a message said outside the questions: the alert keeps it,
        there is no answer to put back)."""
        if action not in RESOLUTIONS:
            raise ValueError(f"The action must be one of: {', '.join(RESOLUTIONS)}.")
        if not by.strip():
            raise ValueError("Say who looked at the alert with --by.")
        if not note.strip():
            raise ValueError("Say what was done with --note.")
        with self._sessions.begin() as session:
            if not store.resolve_alert(session, alert_id=alert_id, by=by, action=action,
                                       note=note):
                raise ValueError(_not_resolvable(store.get_alert(session, alert_id=alert_id),
                                                 alert_id))
            store.add_audit(session, actor=by, action="safeguarding_resolve",
                            detail=f"alert {alert_id}: {action}")
            if action != "dismiss":
                return None
            alert = store.get_alert(session, alert_id=alert_id)
            answer = session.get(Answer, alert.answer_id) if alert.answer_id else None
            if answer is not None:
                answer.flagged = False
            owner = answer.participant_id if answer is not None else alert.participant_id
            person = session.get(Participant, owner) if owner else None
            if person is None or person.status not in HELD_STATUSES:
                return ("back", answer.id) if answer is not None else ("not an answer", None)
            # They (or the purge) asked for their answers to be deleted; only the flag held this one.
            outcome = "erased" if person.status == ERASURE_HELD else "purged"
            _erase_held(session, alert, person, by=by, note="a false alarm")
            engine = session.get_bind()
        scrub_deleted(engine)
        return (outcome, None)

    def finish_erasure(self, alert_id: int, *, by: str, note: str) -> int:
        """Carry out an erasure (the participant's or a purge's) that waited for the lead's review
        of this alert: its answer goes (and the participant, once nothing else of theirs is
        held), and the alert keeps the decision but not the words. Returns the answers deleted;
        raises ValueError with one line if it cannot."""
        if not by.strip():
            raise ValueError("Say who decided with --by.")
        if not note.strip():
            raise ValueError("Say why the erasure can go ahead with --note.")
        with self._sessions.begin() as session:
            # Locked, so a second erasure started at the same time waits and then sees this one.
            alert = store.get_alert(session, alert_id=alert_id, for_update=True)
            if alert is None:
                raise ValueError(f"There is no safeguarding alert {alert_id}.")
            if erasure_carried_out(alert):
                raise ValueError(f"The erasure for alert {alert_id} was already carried out; "
                                 "there is nothing more to delete.")
            person = session.get(Participant, alert.participant_id, with_for_update=True) \
                if alert.participant_id else None
            if person is None or person.status not in HELD_STATUSES:
                raise ValueError(f"Nobody is waiting for an erasure for alert {alert_id}.")
            if alert.status != "resolved":
                raise ValueError(f"Resolve alert {alert_id} first (coproduce safeguarding resolve "
                                 f"{alert_id}): say what was done, then erase.")
            deleted = _erase_held(session, alert, person, by=by, note=note)
            engine = session.get_bind()
        scrub_deleted(engine)
        return deleted


def erasure_carried_out(alert: SafeguardingAlert) -> bool:
    """Whether the erasure this alert held back is done (by `erase`, or by a dismissal): the
    alert keeps the decision, not the words."""
    return alert.text in (ERASED_TEXT, PURGED_TEXT)


def decided_when(alert: SafeguardingAlert) -> str:
    """When the lead resolved the alert, such as "2025-03-07 18:00 UTC"."""
    moment = alert.resolved_at
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)  # PostgreSQL may answer in its own time zone
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "an unknown time"


def _erase_held(session: Session, alert, person, *, by: str, note: str) -> int:
    """Delete the alert's answer, and the participant once nothing of theirs is held any more;
    the alert keeps who decided what and when, not the words."""
    deleted = 0
    if alert.answer_id is not None:
        deleted = session.execute(delete(Answer).where(Answer.id == alert.answer_id)).rowcount
    alert.text = ERASED_TEXT if person.status == ERASURE_HELD else PURGED_TEXT
    still_held = session.execute(select(Answer.id).where(
        Answer.participant_id == person.id, Answer.flagged.is_(True))).first()
    open_alerts = session.execute(select(SafeguardingAlert.id).where(
        SafeguardingAlert.participant_id == person.id, SafeguardingAlert.status == "open")).first()
    if still_held is None and open_alerts is None:
        session.delete(person)
    store.add_audit(session, actor=by, action="safeguarding_erasure",
                    detail=f"alert {alert.id}: {deleted} answer(s) deleted after review ({note})")
    return deleted


def _not_resolvable(alert, alert_id: int) -> str:
    # One line for the lead: the earlier decision stands, and who made it, when and what it was.
    if alert is None:
        return f"There is no safeguarding alert {alert_id}."
    return (f"Alert {alert_id} was already resolved by {alert.resolved_by} on "
            f"{decided_when(alert)} ({alert.resolved_action}); that decision stands and was not "
            "changed.")
