"""Rasa's REST channel at the same address (/webhooks/rest/webhook), answering a message once.

A client that sends the same message again with the same message id (`metadata.message_id`, or
`message_id` beside `sender` and `message`) after a double tap, a retry after a timeout or a page
posted twice gets the replies Rasa gave the first time, and
Rasa does not act on it again: a button pressed once is never taken twice ("Skip" skipping two
questions, "Yes" confirming the themes and then answering the next question). A copy sent while
the first is still being answered waits for it. Answers are also kept once by their message id
in the store; this keeps the steps of the conversation once as well. Other words under a used id
are a new message.

Replies are remembered in this process's memory only, for a short time and for a bounded number
of messages; replies saying the participant's data was erased (which hold none of their words)
make the channel forget that participant's others. An empty answer (an action failed) is not
remembered either, so sending again tries again.
"""
from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import re
import time
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput

Key = Tuple[str, str, str]  # sender, message id, digest of the words

REMEMBER_SECONDS = 600.0
REMEMBER_MESSAGES = 5000


def key_of(message: UserMessage, message_id) -> Key:
    """A message's sender, id and a digest of its words: other words under a used id (a
    client's mistake) are a new message. A digest keeps no words in memory."""
    words = hashlib.sha256((message.text or "").encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return str(message.sender_id), str(message_id), words


# Rasa acts on these payloads by itself and says nothing: "/restart" would wipe the chat's step
# silently, "/back" undo a turn. Typed by a person (or sent by a client), they are read as words.
_CONTROL_INTENT = re.compile(r"^\s*/(restart|back|session_start)(?=$|[\s{@])", re.IGNORECASE)


def without_control_intent(text: Optional[str]) -> Optional[str]:
    """The message, with a Rasa control payload ("/restart", "/back", "/session_start") turned
    into its words ("restart"), so that the assistant answers it like any other message."""
    if not text:
        return text
    match = _CONTROL_INTENT.match(text)
    if match is None:
        return text
    rest = text[match.end():].strip()
    words = match.group(1).replace("_", " ").lower()
    return f"{words} {rest}".strip() if rest and not rest.startswith("{") else words


class AnsweredOnce:
    """The replies given to recent messages, by sender and message id, and those in progress."""

    def __init__(self, seconds: float = REMEMBER_SECONDS, most: int = REMEMBER_MESSAGES,
                 clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.most = most
        self.clock = clock
        self._answered: "collections.OrderedDict[Key, Tuple[float, List[dict]]]" = \
            collections.OrderedDict()
        self._answering: Dict[Key, asyncio.Event] = {}

    async def handle(self, message: UserMessage,
                     on_new_message: Callable[[UserMessage], Awaitable[None]]) -> None:
        """Pass the message to Rasa, unless Rasa answered it already: then give those replies."""
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        message_id = metadata.get("message_id")
        collector = message.output_channel
        if not message_id or type(collector) is not CollectingOutputChannel:
            await on_new_message(message)  # no id to know it by, or a streamed answer
            return
        key = key_of(message, message_id)
        answering = self._answering.get(key)
        if answering is not None:  # the same message, still being answered: wait for it
            await answering.wait()
        replies = self.replies_to(key)
        if replies is not None:
            collector.messages.extend(replies)
            return
        answering = self._answering[key] = asyncio.Event()
        start = len(collector.messages)
        try:
            await on_new_message(message)
            self.remember(key, collector.messages[start:])
        finally:
            self._answering.pop(key, None)
            answering.set()

    def replies_to(self, key: Key) -> Optional[List[dict]]:
        """A copy of the replies remembered for this message, or None."""
        self._forget_old()
        kept = self._answered.get(key)
        return copy.deepcopy(kept[1]) if kept else None

    def remember(self, key: Key, replies: List[dict]) -> None:
        """Keep the replies to one message (not an empty answer). An erasure's replies (which
        hold no words of the participant's) make the channel forget every other of theirs."""
        if any((reply.get("custom") or {}).get("erased") for reply in replies
               if isinstance(reply.get("custom"), dict)):
            for other in [other for other in self._answered if other[0] == key[0]]:
                del self._answered[other]
        if not replies:
            return
        self._answered[key] = (self.clock(), copy.deepcopy(replies))
        self._answered.move_to_end(key)
        while len(self._answered) > self.most:
            self._answered.popitem(last=False)

    def _forget_old(self) -> None:
        cutoff = self.clock() - self.seconds
        while self._answered:
            key, (when, _) = next(iter(self._answered.items()))
            if when >= cutoff:
                break
            del self._answered[key]


class RestOnce(RestInput):
    """Rasa's REST channel under its own name ("rest"), which answers each message id once."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self) -> None:
        super().__init__()
        self.once = AnsweredOnce()

    def get_metadata(self, request) -> Optional[dict]:
        """The request's metadata; a `message_id` given beside `sender` and `message` (not in
        `metadata`) counts as `metadata.message_id`, as many clients send it there."""
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        top_level = body.get("message_id")
        if top_level is None or isinstance(top_level, (dict, list)):
            return metadata
        if metadata is None:
            return {"message_id": top_level}
        if isinstance(metadata, dict) and metadata.get("message_id") is None:
            return {**metadata, "message_id": top_level}
        return metadata

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]):
        async def once(message: UserMessage) -> None:
            message.text = without_control_intent(message.text)
            await self.once.handle(message, on_new_message)
        return super().blueprint(once)
