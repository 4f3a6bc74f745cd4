"""Pass each chat's messages to Rasa in order, keep them while Rasa rests, and send the replies.

Each message for Rasa is also written to the store (when one is given) as it comes, committed
while Rasa answers, and deleted a second after Rasa's replies are handed to the outbox, so that
neither a stop nor a crash loses it: `resume` hands what is left to Rasa after a start, or,
when Rasa's tracker store shows that Rasa had answered it before the crash, sends the
participant those replies (which they missed) instead of asking Rasa a second time.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from typing import Callable, Deque, Dict, List, Optional, Set, Tuple

from bot.rest_client import RasaUnavailable
from bot.telegram.kept import KeptMessages
from bot.telegram.outbox import Outbox
from bot.telegram.render import Outgoing
from bot.telegram.words import MESSAGE_KEPT, RESTING_KEPT, SEND_AGAIN, TAKING_LONG, Wording

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Incoming:
    """One thing a participant sent: words or a button payload for Rasa, or a fixed reply."""

    chat_id: int
    sender: str  # the pseudonymous Rasa sender id, never the Telegram user id
    message_id: str
    text: str = ""
    language: Optional[str] = None
    fixed_reply: Optional[str] = None  # a domain response to send instead of asking Rasa
    kept_at: Optional[float] = None  # when a message resumed after a restart was kept
    replies: Optional[Tuple[dict, ...]] = None  # Rasa's answer before a crash, not yet sent
    delivered: int = 0  # how many messages of those replies Telegram showed before the crash


class Relay:
    """One worker per busy chat sends its messages to Rasa one at a time, in the order they came."""

    def __init__(self, rasa, outbox: Outbox, wording: Wording, *, keep_contact=None,
                 store=None, answered: Optional[Callable[[str, str], Optional[List[dict]]]] = None,
                 patience: float = 900.0,
                 first_delay: float = 0.5, max_delay: float = 30.0, typing_after: float = 0.25,
                 typing_every: float = 4.5, slow_after: float = 30.0):
        self.rasa = rasa
        self.keep_contact = keep_contact  # (sender, chat id): where to send news later
        # Where messages for Rasa are kept across restarts and crashes (a TelegramState), or None.
        self.store = store
        self.kept = KeptMessages(store)
        # (sender, message id) -> Rasa's replies if it answered that message already, else None
        # (blocking: Rasa's tracker store); asked for messages resumed after a crash.
        self.answered = answered
        self.outbox = outbox
        self.wording = wording
        self.patience = patience
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.typing_after = typing_after
        self.typing_every = typing_every
        self.slow_after = slow_after  # seconds of "typing" before the participant is told why
        self._queues: Dict[int, Deque[Incoming]] = {}
        self._workers: Dict[int, asyncio.Task] = {}
        self._in_flight: Dict[int, Incoming] = {}
        self._sending: Dict[int, Incoming] = {}  # messages whose replies are being sent
        self._resting: Set[int] = set()  # chats whose message waits for Rasa to come back
        self._closing = False
        self.counts: collections.Counter = collections.Counter()

    def submit(self, item: Incoming) -> None:
        """Queue a message for its chat and make sure a worker is sending that chat's messages."""
        self._queues.setdefault(item.chat_id, collections.deque()).append(item)
        if item.fixed_reply is None:
            self.kept.keep([item])  # written ahead: a crash while Rasa answers loses nothing
            if item.chat_id in self._resting:
                self.outbox.background(self._say_kept(item), "saying a message is kept")
        if item.chat_id not in self._workers:
            worker = asyncio.ensure_future(self._work(item.chat_id))
            self._workers[item.chat_id] = worker

    def is_busy(self, chat_id: int) -> bool:
        """True while a message of this chat waits or is being answered."""
        return chat_id in self._queues

    async def _work(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        item: Optional[Incoming] = None
        try:
            while queue:
                item = queue.popleft()
                await self._handle(item)
        except Exception:  # noqa: BLE001 - one broken message must not silence the chat
            log.exception("Failed to handle a message; the chat carries on")
            if item is not None:  # the participant sends it again: a restart must not
                await self.kept.forget([item], wait=False)
            self._say_soon(chat_id, item.sender if item else "", SEND_AGAIN)
        finally:
            self._workers.pop(chat_id, None)
            if queue and not self._closing:  # a failure left messages behind: carry on with them
                self._workers[chat_id] = asyncio.ensure_future(self._work(chat_id))
            elif not queue:
                self._queues.pop(chat_id, None)

    async def _handle(self, item: Incoming) -> None:
        if item.fixed_reply is not None:
            await self.say(item.chat_id, item.sender, item.fixed_reply)
            return
        if item.replies is not None:  # Rasa answered it before a crash: send what was missed
            await self._send_replies(item, list(item.replies))
            return
        self._in_flight[item.chat_id] = item
        try:
            # Its write began when it came (submit) and commits while Rasa answers: waiting for
            # the commit first would add it to every turn. A crash in the millisecond before the
            # commit leaves the message with Rasa, which has it already.
            replies = await self._ask(item)
        finally:
            self._in_flight.pop(item.chat_id, None)
            self._resting.discard(item.chat_id)
        if replies is None:
            await self.kept.forget([item, *self._give_up(item.chat_id)])
            await self.say(item.chat_id, item.sender, SEND_AGAIN)
            return
        await self._send_replies(item, replies)

    async def _send_replies(self, item: Incoming, replies: List[dict]) -> None:
        if self.keep_contact and any((r.get("custom") or {}).get("keep_contact") for r in replies):
            # The participant asked for news: keep their chat id in the erasable contacts
            # table only. It never goes to Rasa, whose tracker store keeps every message.
            self.keep_contact(item.sender, str(item.chat_id))
        # Each message shown is counted in the store (in the background), so a crash part-way
        # through sends only the rest after the restart.
        self._sending[item.chat_id] = item
        try:
            await self.outbox.send_replies(item.chat_id, item.sender, replies,
                                           skip=item.delivered,
                                           on_sent=lambda count: self.kept.delivered(item, count))
        finally:
            self._sending.pop(item.chat_id, None)
        # Only now: a crash before this sends it to Rasa again at the next start, under the same
        # message id, so the answer it holds is stored once. The next message need not wait.
        await self.kept.forget([item], wait=False)

    async def _ask(self, item: Incoming) -> Optional[List[dict]]:
        """Rasa's replies, tried again with back-off while it rests; None when patience runs out."""
        deadline = time.monotonic() + self.patience
        if item.kept_at is not None:  # patience began when it was first kept, before a restart
            deadline -= max(0.0, time.time() - item.kept_at)
        delay = self.first_delay
        typing = asyncio.ensure_future(self._typing(item.chat_id, item.sender))
        try:
            while True:
                try:
                    replies = await self.rasa.send(item.sender, item.text,
                                                   message_id=item.message_id,
                                                   metadata=_metadata(item))
                    self.counts["answered"] += 1
                    return replies
                except RasaUnavailable as exc:
                    typing.cancel()
                    if item.chat_id not in self._resting:
                        log.warning("Rasa is not answering (%s); keeping the message", exc)
                        self._resting.add(item.chat_id)
                        self.counts["kept"] += 1
                        waiting = [other for other in [item, *self._queues.get(item.chat_id, ())]
                                   if other.fixed_reply is None]
                        self.kept.keep(waiting)  # written already, unless the store failed
                        await self.kept.written(waiting)
                        if item.kept_at is None:  # a resumed message was announced before
                            await self.say(item.chat_id, item.sender, RESTING_KEPT)
                    if time.monotonic() + delay > deadline:
                        return None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_delay)
        finally:
            typing.cancel()

    async def _typing(self, chat_id: int, sender: str = "") -> None:
        slow = asyncio.ensure_future(self._tell_if_slow(chat_id, sender))
        try:
            # A reply faster than this needs no "typing", and the request would cost rate budget.
            await asyncio.sleep(self.typing_after)
            while True:
                await self.outbox.show_typing(chat_id)
                await asyncio.sleep(self.typing_every)
        finally:
            slow.cancel()

    async def _tell_if_slow(self, chat_id: int, sender: str) -> None:
        """Rasa is thinking, not resting (asking again could repeat the turn): after a while,
        say so once, so nobody watches "typing" for minutes without a word."""
        await asyncio.sleep(self.slow_after)
        await self.say(chat_id, sender, TAKING_LONG)

    async def say(self, chat_id: int, sender: str, *names: str) -> None:
        """Send fixed domain responses, read aloud too when the participant has sound on."""
        texts = [self.wording.text(name) for name in names]
        await self.outbox.send_replies(chat_id, sender, [{"text": text} for text in texts])

    def _say_soon(self, chat_id: int, sender: str, name: str) -> None:
        self.outbox.background(self.say(chat_id, sender, name), f"saying {name}")

    async def _say_kept(self, item: Incoming) -> None:
        """Tell the participant that a message that came while Rasa rests is kept, once it is."""
        await self.kept.written([item])
        await self.say(item.chat_id, item.sender, MESSAGE_KEPT)

    def _give_up(self, chat_id: int) -> List[Incoming]:
        """Drop the chat's waiting messages, and return them; the participant is told to send
        them again."""
        dropped = list(self._queues.get(chat_id, ()))
        if chat_id in self._queues:
            self._queues[chat_id].clear()
        self.counts["gave_up"] += 1 + len(dropped)
        log.error("Rasa did not come back in %.0f s; asked the participant to send %d message(s) "
                  "again", self.patience, 1 + len(dropped))
        return dropped

    async def resume(self) -> int:
        """After a start, hand Rasa the messages kept before a stop or a crash; return how many.

        Those kept longer than `patience` are dropped, and their participant is asked, once,
        to send again.
        """
        if self.store is None:
            return 0
        kept = await asyncio.to_thread(self.store.waiting)
        self.kept.adopt(waiting.message_id for waiting in kept)
        first_kept: Dict[int, float] = {}
        for waiting in kept:
            first_kept.setdefault(waiting.chat_id, waiting.kept_at.timestamp())
        # A chat whose first kept message waited too long is asked to send again, all of it.
        stale = {chat_id for chat_id, kept_at in first_kept.items()
                 if time.time() - kept_at > self.patience}
        resumed = [waiting for waiting in kept if waiting.chat_id not in stale]
        for waiting in resumed:
            # Killed after Rasa answered but before the replies reached Telegram: Rasa has moved
            # on, so asking it again would not be understood. The participant gets its replies.
            replies = await asyncio.to_thread(self.answered, waiting.sender, waiting.message_id) \
                if self.answered is not None else None
            self.submit(Incoming(chat_id=waiting.chat_id, sender=waiting.sender,
                                 message_id=waiting.message_id, text=waiting.text,
                                 language=waiting.language, kept_at=first_kept[waiting.chat_id],
                                 replies=tuple(replies) if replies is not None else None,
                                 delivered=waiting.delivered if replies is not None else 0))
        dropped = [Incoming(chat_id=waiting.chat_id, sender=waiting.sender,
                            message_id=waiting.message_id)
                   for waiting in kept if waiting.chat_id in stale]
        await self.kept.forget(dropped)
        for chat_id in stale:
            self.counts["gave_up"] += 1
            sender = next(item.sender for item in dropped if item.chat_id == chat_id)
            await self.say(chat_id, sender, SEND_AGAIN)
        if kept:
            log.info("Resumed %d message(s) kept before a stop or a crash; %d chat(s) had waited "
                     "too long and were asked to send again", len(resumed), len(stale))
        return len(resumed)

    async def close(self, grace: float = 10.0) -> None:
        """Let workers finish (up to `grace` seconds). Messages waiting for a resting Rasa stay
        in the store for `resume` (without one, their senders are asked to send again, as is
        anyone whose message Rasa was still answering); every other message leaves the store."""
        self._closing = True
        deadline = time.monotonic() + grace
        # Wait for chats Rasa is answering; chats waiting for Rasa to come back cannot finish.
        while set(self._workers) - self._resting and time.monotonic() < deadline:
            await asyncio.wait(list(self._workers.values()), timeout=0.1)
        waiting = {chat_id: item.sender for chat_id, item in self._in_flight.items()}
        for chat_id, queue in self._queues.items():
            for item in queue:
                if item.fixed_reply is None:
                    waiting.setdefault(chat_id, item.sender)
        # Chats waiting for a resting Rasa keep their messages in the store for the next start;
        # a chat whose message Rasa was still answering is asked to send again.
        kept = {chat_id for chat_id in waiting if chat_id in self._resting} \
            if self.store is not None else set()
        to_keep = [item for chat_id in kept
                   for item in [self._in_flight.get(chat_id), *self._queues.get(chat_id, ())]
                   if item is not None and item.fixed_reply is None]
        # Rasa answered these, but Telegram has not shown all the replies yet (a flood wait, a
        # slow server): kept, so the next start sends the rest, as after a crash.
        sending = list(self._sending.values())
        to_keep += sending
        for worker in list(self._workers.values()):
            worker.cancel()
        self.kept.keep(to_keep)  # written already, unless the store failed
        await self.kept.flush()
        # Their senders are asked to send again, or Rasa answered them: not for the next start.
        await self.kept.forget_ids(self.kept.kept_ids() - {item.message_id for item in to_keep})
        for chat_id, sender in waiting.items():
            if chat_id in kept:
                continue
            self.counts["gave_up"] += 1
            await self.outbox.send_text(chat_id, Outgoing(self.wording.text(SEND_AGAIN)))
        if kept:
            log.warning("Stopped with %d chat(s) waiting for Rasa to come back; their messages "
                        "are kept for the next start", len(kept))
        if sending:
            log.warning("Stopped while sending the replies to %d chat(s); the rest are sent at "
                        "the next start", len(sending))
        if len(waiting) > len(kept):
            log.warning("Stopped with %d chat(s) waiting for Rasa's answer; they were asked to "
                        "send again", len(waiting) - len(kept))
        close = getattr(self.rasa, "close", None)
        if close is not None:
            await close()


def _metadata(item: Incoming) -> dict:
    metadata = {"message_id": item.message_id}
    if item.language:
        metadata["language"] = item.language
    return metadata
