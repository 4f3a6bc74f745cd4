"""'You said, we did' update messages: news about a participant's own themes, sent at most once.

Delivery is at most once, with notice. For each participant the run first records the
(action, revision) pairs it is about to send, marked pending, and commits; then it sends; then
it marks them sent. The unique (participant, action, revision) row is the claim, so two runs at
once cannot both send. If the run stops between sending and confirming, the pending rows stay:
the next run does not send them again but reports them ("may not have arrived"), and
`--resend-unconfirmed` sends them again once someone has decided to. A send that certainly
failed (Telegram refused it, or could not be reached) releases its claim, so a later run tries
again; a send whose outcome is unknown (a time-out, a bad gateway) stays pending.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import (Callable, ContextManager, Dict, Iterator, List, Mapping, Optional, Protocol,
                    Sequence, Tuple)

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.engagement import Engagement
from bot.readability import check
from bot.staff.actions import as_sentence, summary_for
from bot.store import staff_queries
from bot.store.models import StaffAction, utcnow
from bot.wording import response_text

log = logging.getLogger(__name__)

STOP_UPDATES_PAYLOAD = "/stop_updates"
INTRO = "utter_update_intro"
ITEMS = {"planned": "utter_update_item_planned", "doing": "utter_update_item_doing",
         "done": "utter_update_item_done"}
STOP = "utter_update_stop"
STOP_BUTTON = "utter_update_stop_button"
RESPONSES = (INTRO, *ITEMS.values(), STOP, STOP_BUTTON)
PLACEHOLDERS = ("themes", "theme", "emoji", "action")  # the values every response is given


# ---- delivery -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class UpdateMessage:
    """One message to a participant: its words and its buttons (title, payload)."""

    text: str
    buttons: Tuple[Tuple[str, str], ...]
    sound: bool = False  # also read aloud (a voice note), for someone who chose sound


class NotDelivered(Exception):
    """The channel certainly did not deliver the message (refused, blocked, unreachable)."""


class MaybeDelivered(Exception):
    """The channel may have delivered the message (e.g. a time-out after sending)."""


class NotifierUnavailable(Exception):
    """The channel cannot be used at all (wrong token, server down): stop the run."""


class Notifier(Protocol):
    """Sends update messages on one channel."""

    channel: str

    def send(self, address: str, message: UpdateMessage) -> None:
        """Deliver the message or raise NotDelivered, MaybeDelivered or NotifierUnavailable."""


class OpenedWhenNeeded(Mapping):
    """Notifiers by channel, each opened only when a message is about to go on that channel.

    So a run with nothing to send needs no token and reaches no server. Opened notifiers are
    closed by the ExitStack given.
    """

    def __init__(self, openers: Dict[str, Callable[[], ContextManager[Notifier]]],
                 stack: contextlib.ExitStack):
        self._openers = dict(openers)
        self._stack = stack
        self._opened: Dict[str, Notifier] = {}

    def __getitem__(self, channel: str) -> Notifier:
        if channel not in self._opened:
            opener = self._openers[channel]  # KeyError: no notifier for this channel
            self._opened[channel] = self._stack.enter_context(opener())
        return self._opened[channel]

    def __contains__(self, channel: object) -> bool:
        return channel in self._openers  # without opening it

    def __iter__(self) -> Iterator[str]:
        return iter(self._openers)

    def __len__(self) -> int:
        return len(self._openers)


# ---- wording --------------------------------------------------------------------------------
class MissingWording(LookupError):
    """domain.yml lacks some of the update responses."""


class UpdateWording:
    """The update message's words, read from domain.yml responses."""

    def __init__(self, domain_path: Path):
        self.domain_path = Path(domain_path)

    def missing(self) -> List[str]:
        """The update responses that domain.yml does not have."""
        missing = []
        for name in RESPONSES:
            try:
                response_text(self.domain_path, name)
            except KeyError:
                missing.append(name)
        return missing

    def require(self) -> None:
        """Raise MissingWording if a response is missing or uses a placeholder we do not fill."""
        missing = self.missing()
        if missing:
            raise MissingWording(f"{self.domain_path} has no response called {', '.join(missing)}; "
                                 "add them before sending updates.")
        sample = dict.fromkeys(PLACEHOLDERS, "x")
        for name in RESPONSES:
            try:
                response_text(self.domain_path, name, **sample)
            except (KeyError, IndexError, ValueError) as error:
                raise MissingWording(
                    f"{self.domain_path}'s {name} uses a placeholder notify does not fill ({error}); "
                    f"it can use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}.") from None

    def compose(self, engagement: Engagement, actions: Sequence[StaffAction]) -> UpdateMessage:
        """The message about these actions, with a button to stop updates."""
        names = {}
        for action in actions:
            theme = engagement.theme_by_id(action.theme_id)
            names[action.theme_id] = (theme.easy_name or theme.name, theme.emoji) if theme \
                else (action.theme_id, "")
        themes = ", ".join(name for name, _ in names.values())
        # Every response gets every value, so the wording may use any placeholder it likes.
        common = {"themes": themes, "theme": "", "emoji": "", "action": ""}
        parts = [response_text(self.domain_path, INTRO, **common)]
        for action in actions:
            name, emoji = names[action.theme_id]
            parts.append(response_text(
                self.domain_path, ITEMS[action.status],
                **{**common, "theme": name, "emoji": emoji,
                   "action": as_sentence(action.text)}).strip())
        parts.append(response_text(self.domain_path, STOP, **common))
        button = response_text(self.domain_path, STOP_BUTTON, **common)
        return UpdateMessage("\n\n".join(parts), ((button, STOP_UPDATES_PAYLOAD),))


# ---- the run --------------------------------------------------------------------------------
@dataclasses.dataclass
class NotifyResult:
    """What one run did; pseudonyms only, never addresses."""

    sent: List[str] = dataclasses.field(default_factory=list)
    not_delivered: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    unconfirmed: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    earlier_unconfirmed: int = 0
    resent_unconfirmed: int = 0
    no_channel: List[str] = dataclasses.field(default_factory=list)
    hard_to_read: List[Tuple[str, List[str]]] = dataclasses.field(default_factory=list)
    previews: List[Tuple[str, UpdateMessage]] = dataclasses.field(default_factory=list)

    @property
    def nothing_to_send(self) -> bool:
        """True when no participant had news to send (a dry run counts its previews)."""
        return not (self.sent or self.not_delivered or self.unconfirmed or self.no_channel
                    or self.previews)

    def audit_detail(self) -> dict:
        """Counts for the audit log (no addresses, no message text)."""
        return {"sent": len(self.sent), "not_delivered": len(self.not_delivered),
                "unconfirmed": len(self.unconfirmed),
                "earlier_unconfirmed": self.earlier_unconfirmed,
                "resent_unconfirmed": self.resent_unconfirmed, "no_channel": len(self.no_channel)}


def send_updates(sessions: sessionmaker, engagement: Engagement, wording: UpdateWording,
                 notifiers: Mapping[str, Notifier], *, actor: str, dry_run: bool = False,
                 resend_unconfirmed: bool = False,
                 clock: Callable[[], datetime] = utcnow) -> NotifyResult:
    """Send each participant who wants updates the news about their own themes, once."""
    wording.require()
    result = NotifyResult()
    with sessions() as session:
        earlier = staff_queries.unconfirmed_notifications(session)
        result.earlier_unconfirmed = len({n.participant_id for n in earlier})  # one message each
        if resend_unconfirmed and earlier and not dry_run:
            staff_queries.release_notifications(session, notification_ids=[n.id for n in earlier])
            result.resent_unconfirmed = result.earlier_unconfirmed
            session.commit()
        recipients = staff_queries.update_recipients(session)
        # A dry run with --resend-unconfirmed shows those messages too, as the real run sends them.
        reopened = {(n.participant_id, n.action_id, n.revision) for n in earlier} \
            if resend_unconfirmed and dry_run else set()
    try:
        for recipient in recipients:
            _notify_one(sessions, engagement, wording, notifiers, recipient, result, dry_run, clock,
                        reopened)
    finally:
        if not dry_run:
            with sessions() as session:
                staff_queries.add_audit(session, actor=actor, action="notify",
                                        detail=result.audit_detail())
                session.commit()
    return result


def _notify_one(sessions, engagement, wording, notifiers, recipient, result, dry_run, clock,
                reopened=frozenset()):
    """Claim, send and confirm the news for one participant. reopened: (participant, action,
    revision) claims a dry run counts as not sent (they would be released and sent again)."""
    with sessions() as session:
        summary = summary_for(session, participant_id=recipient.participant_id)
        done = {(action_id, revision) for action_id, revision in staff_queries.notified_revisions(
            session, participant_id=recipient.participant_id)
            if (recipient.participant_id, action_id, revision) not in reopened}
        news = [action for action in summary.actions if (action.id, action.revision) not in done]
        if not news:
            return
        message = dataclasses.replace(wording.compose(engagement, news), sound=recipient.sound)
        readability = check(message.text)
        if not readability.ok:
            result.hard_to_read.append((recipient.pseudonym, readability.problems))
        if dry_run:
            result.previews.append((recipient.pseudonym, message))
            return
        if recipient.channel not in notifiers:
            result.no_channel.append(recipient.pseudonym)
            return
        if not staff_queries.wants_updates(session, participant_id=recipient.participant_id):
            return  # said stop since the list was read
        # Opened here, before anything is claimed: a channel that cannot be used stops the run
        # with nothing claimed, and a run with nothing to send never needs it.
        notifier = notifiers[recipient.channel]
        try:
            claimed = staff_queries.claim_notifications(
                session, participant_id=recipient.participant_id,
                items=[(action.id, action.revision) for action in news])
            session.commit()
        except IntegrityError:  # another run claimed them first
            session.rollback()
            return
    try:
        notifier.send(recipient.address, message)
    except NotDelivered as error:
        _settle(sessions, claimed, release=True)
        result.not_delivered.append((recipient.pseudonym, str(error)))
        log.warning("Update not delivered to %s: %s", recipient.pseudonym, error)
    except MaybeDelivered as error:
        result.unconfirmed.append((recipient.pseudonym, str(error)))
        log.warning("Update to %s may not have arrived: %s", recipient.pseudonym, error)
    except NotifierUnavailable:
        _settle(sessions, claimed, release=True)
        raise
    except BaseException:  # unforeseen, or Ctrl-C mid-send: it may have gone, so stay pending
        result.unconfirmed.append((recipient.pseudonym, "the run stopped while sending"))
        raise
    else:
        _settle(sessions, claimed, sent_at=clock())
        result.sent.append(recipient.pseudonym)


def _settle(sessions, notification_ids: List[int], *, release: bool = False,
            sent_at: Optional[datetime] = None) -> None:
    with sessions() as session:
        if release:
            staff_queries.release_notifications(session, notification_ids=notification_ids)
        else:
            staff_queries.confirm_notifications(session, notification_ids=notification_ids,
                                                sent_at=sent_at)
        session.commit()
