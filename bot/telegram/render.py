"""Pure helpers that shape Rasa's replies for Telegram: message splitting, button data and files."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from bot.documents import Document, document_in

log = logging.getLogger(__name__)

# Telegram allows 4,096 characters (counted in UTF-16 code units) per message.
MESSAGE_LIMIT = 4096
# Telegram allows 64 bytes of callback data per button.
CALLBACK_LIMIT = 64
PAYLOAD_KEY_PREFIX = "~"
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n+")


@dataclasses.dataclass
class Outgoing:
    """One Telegram message to send: its text and the buttons under it (title, payload)."""

    text: str
    buttons: List[Tuple[str, str]] = dataclasses.field(default_factory=list)


def telegram_length(text: str) -> int:
    """The length of a text as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def outgoing_messages(replies: Sequence[dict],
                      limit: int = MESSAGE_LIMIT) -> List[Union[Outgoing, Document]]:
    """Rasa's replies as Telegram messages and files, in order: long texts split, buttons on
    the last part of their text."""
    messages: List[Union[Outgoing, Document]] = []
    last_text: Optional[Outgoing] = None
    for reply in replies:
        buttons = [(str(b.get("title") or b.get("payload")),
                    str(b.get("payload") or b.get("title"))) for b in reply.get("buttons") or []]
        text = (reply.get("text") or "").strip()
        if text:
            parts = [Outgoing(part) for part in split_text(text, limit)]
            messages.extend(parts)
            last_text = parts[-1]
        if buttons and last_text is not None:
            last_text.buttons.extend(buttons)
        elif buttons:
            log.warning("Rasa sent buttons with no text to put them under; they were not shown")
        document = document_in(reply)
        if document is not None:
            messages.append(document)
        elif not text and not buttons and set(reply) - {"recipient_id"}:
            log.debug("Skipped a reply part Telegram cannot show: %s", sorted(reply))
    return messages


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> List[str]:
    """Split a text into parts of at most `limit`, at sentence ends where possible."""
    if telegram_length(text) <= limit:
        return [text]
    parts: List[str] = []
    current = ""
    for piece in _pieces(text, limit):
        if current and telegram_length(current + piece) > limit:
            parts.append(current.strip())
            current = ""
        current += piece
    if current.strip():
        parts.append(current.strip())
    return [part for part in parts if part]


def _pieces(text: str, limit: int) -> Iterator[str]:
    """Sentences with their trailing space; a sentence too long is cut at spaces, then anywhere."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        yield from _cut(text[start:match.end()], limit)
        start = match.end()
    if start < len(text):
        yield from _cut(text[start:], limit)


def _cut(sentence: str, limit: int) -> Iterator[str]:
    if telegram_length(sentence) <= limit:
        yield sentence
        return
    current = ""
    for word in re.findall(r"\S+\s*", sentence):
        while telegram_length(word) > limit:  # one enormous "word": cut it anywhere
            if current:
                yield current
                current = ""
            head = _head(word, limit)
            yield head
            word = word[len(head):]
        if current and telegram_length(current + word) > limit:
            yield current
            current = ""
        current += word
    if current:
        yield current


def _head(word: str, limit: int) -> str:
    """The longest start of `word` that fits, never splitting a surrogate pair."""
    end = min(len(word), limit)
    while telegram_length(word[:end]) > limit:
        end -= 1
    return word[:end]


def fits_callback(payload: str) -> bool:
    """True when a payload can travel as Telegram callback data as it is."""
    return (len(payload.encode("utf-8")) <= CALLBACK_LIMIT
            and not payload.startswith(PAYLOAD_KEY_PREFIX))


def payload_key(payload: str) -> str:
    """A short, stable key for a payload too long for callback data."""
    return PAYLOAD_KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def is_multiple_choice(datas: Sequence[str]) -> bool:
    """True for buttons that all carry the same intent with different entities, like themes.

    Such a keyboard asks the participant to pick several, so each button goes once pressed
    while the others stay.
    """
    if len(datas) < 2 or len(set(datas)) != len(datas):
        return False
    intents = {data.split("{", 1)[0] for data in datas}
    return all(data.startswith("/") and "{" in data for data in datas) and len(intents) == 1
