"""Read a returning participant's conversation back from Rasa's tracker store, to show it again.

The web chat keeps each transcript in memory only. After a restart, or once a transcript was
dropped to make room, the page rebuilds it from the conversation Rasa keeps anyway: the web
chat writes no second copy of anyone's words, and an erasure (which deletes Rasa's events)
leaves nothing to rebuild. Rasa saves the erasure's own turn after the action ran, which can
briefly bring the older events back until the erasure runs again: the reply that says the data
was erased (`custom.erased`) still empties what was rebuilt before it. Files, such as the
participant's own record, are never rebuilt: the message that offered one shows only its words.
"""
from __future__ import annotations

import logging
import threading
from typing import Iterable, Iterator, List, Optional, Tuple

from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.store.tracker import recent_messages, tracker_engine
from bot.web.transcript import Transcript

log = logging.getLogger(__name__)

# The page's own hello and messages that carry only a file show nothing: read more than is shown.
EVENTS_PER_ENTRY = 2


class ConversationHistory:
    """Rasa's stored messages for a sender; blocking database reads, so call it from a thread."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()

    def messages(self, sender: str, *, limit: int) -> List[dict]:
        """The sender's newest user and bot events, oldest first; [] if the store cannot be read."""
        try:
            with self._lock:  # the engine is made on first use: building the app connects nothing
                if self._engine is None:
                    self._engine = tracker_engine(self._settings)
            return recent_messages(self._engine, sender, limit=limit)
        except Exception as error:  # noqa: BLE001 - an unreadable store must not break the page
            log.warning("Could not read a conversation back from Rasa's tracker store, so the "
                        "page starts with a hello: %s", _reason(error))
            return []

    def close(self) -> None:
        """Close the database connections, if any were made."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def rebuild(transcript: Transcript, events: Iterable[dict], *, greeting: str) -> None:
    """Add Rasa's stored messages to an empty transcript, as the live page showed them (from
    the latest erasure on)."""
    for asked, answers in _exchanges(events):
        message = str(asked.get("text") or "") if asked else ""
        said = _said(transcript, message, greeting)
        replies = [reply for answer in answers for reply in replies_of(answer)]
        if said is None and not replies:
            continue  # nothing was shown; an empty exchange would hide the latest buttons
        transcript.add_exchange(said, replies)
        message_id = ((asked or {}).get("metadata") or {}).get("message_id")
        if message and message != greeting and isinstance(message_id, str):
            # A page open before the restart that posts its message again is not sent twice.
            transcript.remember_sent(message_id, message)


def replies_of(event: dict) -> List[dict]:
    """What Rasa's REST channel sent the page for one stored bot message, less any file."""
    data = event.get("data") or {}
    text = event.get("text")
    buttons = data.get("quick_replies") or data.get("buttons")
    if buttons:
        replies = [{"text": text, "buttons": buttons}]
    elif text:  # Rasa's REST channel sends each paragraph of a message without buttons alone
        replies = [{"text": part} for part in str(text).strip().split("\n\n")]
    else:
        replies = []
    custom = data.get("custom")
    if isinstance(custom, dict):
        kept = {name: value for name, value in custom.items() if name != "document"}
        if kept:
            replies.append({"custom": kept})
    return replies


def _exchanges(events: Iterable[dict]) -> Iterator[Tuple[Optional[dict], List[dict]]]:
    # Each participant message with the bot messages after it; bot messages before the first
    # participant message read back form an exchange of their own.
    asked: Optional[dict] = None
    answers: List[dict] = []
    for event in events:
        if event.get("event") == "user":
            if asked is not None or answers:
                yield asked, answers
            asked, answers = event, []
        elif event.get("event") == "bot":
            answers.append(event)
    if asked is not None or answers:
        yield asked, answers


def _said(transcript: Transcript, message: str, greeting: str) -> Optional[str]:
    # What the live page showed for a message: a button's title, the typed words, or nothing
    # for the page's own hello.
    if not message or message == greeting:
        return None
    title = transcript.title_for(message)
    if title is not None:
        return title
    if message.startswith("/"):
        return None  # a button offered before the oldest message read back: its title is unknown
    return message


def _reason(error: Exception) -> str:
    # The driver's own first line ("no such table: events", "connection refused"), never the
    # statement or its parameters.
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{error.__class__.__name__}: {detail[0][:200] if detail else ''}"
