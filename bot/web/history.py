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

from typing import Iterable, Iterator, List, Optional, Tuple

from bot.store.tracker import rest_replies
from bot.web.transcript import Transcript

# The page's own hello and messages that carry only a file show nothing: read more than is shown.
EVENTS_PER_ENTRY = 2


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
    return rest_replies(event, files=False)


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
