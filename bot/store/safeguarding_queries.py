"""Store functions for safeguarding alerts and the audit log."""
from __future__ import annotations

from typing import Dict, List, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.store.db import lock_for_writing
from bot.store.models import (HELD_STATUSES, AuditEntry, Participant, SafeguardingAlert,
                              utcnow)


def add_alert(session: Session, *, participant_id: Optional[int], answer_id: Optional[int],
              text: str, channel: str, role: Optional[str], score: float,
              categories: List[str], immediate_danger: bool) -> SafeguardingAlert:
    """Keep a possible disclosure word for word, time-stamped and open."""
    alert = SafeguardingAlert(participant_id=participant_id, answer_id=answer_id, text=text,
                              channel=channel, role=role, score=score,
                              categories=",".join(categories)[:255],
                              immediate_danger=immediate_danger)
    session.add(alert)
    session.flush()
    return alert


def alerts_of(session: Session, *, participant_id: int) -> List[SafeguardingAlert]:
    """Every alert about this participant, oldest first."""
    return list(session.execute(select(SafeguardingAlert).where(
        SafeguardingAlert.participant_id == participant_id).order_by(SafeguardingAlert.id)).scalars())


def open_alert_with_text(session: Session, *, participant_id: int, text: str) -> Optional[SafeguardingAlert]:
    """This participant's open alert about a message with exactly these words, if any (the same
    message sent twice raises one alert). Call it after locking the participant's row."""
    return session.execute(
        select(SafeguardingAlert).where(SafeguardingAlert.participant_id == participant_id,
                                        SafeguardingAlert.status == "open",
                                        SafeguardingAlert.text == text)
        .order_by(SafeguardingAlert.id).limit(1)).scalar_one_or_none()


def get_alert(session: Session, *, alert_id: int,
              for_update: bool = False) -> Optional[SafeguardingAlert]:
    """One alert by id, or None; for_update: locked until the transaction ends, so two decisions
    on it take turns (call it before anything else in the transaction)."""
    if not for_update:
        return session.get(SafeguardingAlert, alert_id)
    lock_for_writing(session)
    return session.get(SafeguardingAlert, alert_id, with_for_update=True, populate_existing=True)


def list_alerts(session: Session, *, include_resolved: bool = False) -> List[SafeguardingAlert]:
    """Alerts, newest first; open ones only unless asked."""
    query = select(SafeguardingAlert).order_by(SafeguardingAlert.created_at.desc(),
                                               SafeguardingAlert.id.desc())
    if not include_resolved:
        query = query.where(SafeguardingAlert.status == "open")
    return list(session.execute(query).scalars())


def alerts_on_answer(session: Session, *, answer_id: int) -> List[SafeguardingAlert]:
    """The alerts raised on one answer, oldest first."""
    return list(session.execute(select(SafeguardingAlert).where(
        SafeguardingAlert.answer_id == answer_id).order_by(SafeguardingAlert.id)).scalars())


def erasures_waiting(session: Session) -> Dict[int, str]:
    """Participants whose erasure waits for the safeguarding lead: id to who asked for it
    (ERASURE_HELD: the person; PURGE_HELD: the retention period)."""
    return dict(session.execute(select(Participant.id, Participant.status).where(
        Participant.status.in_(HELD_STATUSES))).all())


def resolve_alert(session: Session, *, alert_id: int, by: str, action: str,
                  note: str) -> bool:
    """Record the lead's decision on an open alert; False if it is missing or already resolved."""
    # One conditional UPDATE, so two leads resolving at once cannot overwrite each other.
    result = session.execute(
        update(SafeguardingAlert)
        .where(SafeguardingAlert.id == alert_id, SafeguardingAlert.status == "open")
        .values(status="resolved", resolved_by=by, resolved_action=action, resolved_note=note,
                resolved_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def mark_delivery(session: Session, *, alert_id: int, error: Optional[str]) -> None:
    """Record that the alert reached the lead, or why it did not."""
    alert = session.get(SafeguardingAlert, alert_id)
    if alert is None:
        return
    if error:
        alert.delivery_error = error[:255]
    else:
        alert.delivered_at, alert.delivery_error = utcnow(), None


def add_audit(session: Session, *, actor: str, action: str, detail: str = "") -> AuditEntry:
    """Write who did what; detail never holds a participant's words."""
    entry = AuditEntry(actor=actor, action=action, detail=detail)
    session.add(entry)
    session.flush()
    return entry
