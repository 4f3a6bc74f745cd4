"""Keep each message for Rasa in the store from its arrival until it is answered, so that no stop
or crash loses it: whatever is still there at the next start is handed to Rasa (`Relay.resume`).

The store is written by one task at a time, off the event loop: a chat's messages reach the
store in the order they came, and messages that arrive during a commit share the next one.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Dict, Iterable, List, Optional, Set

log = logging.getLogger(__name__)

# An answered message leaves the store this many seconds later, with any others answered since.
FORGET_AFTER = 1.0


class KeptMessages:
    """Writes messages for Rasa to the store (a TelegramState, or None) and deletes them again."""

    def __init__(self, store=None):
        self.store = store
        self._kept: Set[str] = set()  # message ids in the store
        self._writing: Dict[str, asyncio.Future] = {}  # message id -> the commit that writes it
        self._to_keep: List = []  # messages for the next commit, in order
        self._to_forget: List[str] = []  # message ids for the next commit
        self._to_mark: Dict[str, int] = {}  # message id -> reply messages shown, for the next commit
        self._next: Optional[asyncio.Future] = None  # the next commit, once something waits for it
        self._writer: Optional[asyncio.Task] = None
        self._later: List[str] = []  # message ids answered: deleted a little later, together
        self._later_timer: Optional[asyncio.TimerHandle] = None

    def keep(self, messages: Iterable) -> None:
        """Have messages written to the store soon, in this order; each is written once."""
        messages = [message for message in messages
                    if message.message_id not in self._kept
                    and message.message_id not in self._writing]
        if self.store is None or not messages:
            return
        commit = self._commit()
        self._to_keep.extend(messages)
        for message in messages:
            self._writing[message.message_id] = commit

    def delivered(self, message, count: int) -> None:
        """Record soon (without waiting) that Telegram has shown `count` messages of this
        message's reply, so a restart after a crash part-way through sends only the rest."""
        if self.store is None or message.message_id not in self.kept_ids():
            return
        self._commit()
        self._to_mark[message.message_id] = count

    def adopt(self, message_ids: Iterable[str]) -> None:
        """Count messages read back from the store (after a start) as kept."""
        self._kept.update(message_ids)

    def kept_ids(self) -> Set[str]:
        """The ids of the messages in the store, or on their way there."""
        return self._kept | set(self._writing)

    async def written(self, messages: Iterable) -> None:
        """Wait until these messages' writes, if any are under way, have ended (well or not)."""
        commits = {self._writing[message.message_id] for message in messages
                   if message.message_id in self._writing}
        if commits:
            await asyncio.wait(commits)  # not `await`: a cancelled caller must not cancel a commit

    async def forget(self, messages: Iterable, *, wait: bool = True) -> None:
        """Delete messages from the store (once any write of them has ended); with `wait`, until
        the delete is committed. Without, the delete waits FORGET_AFTER seconds and goes with
        others, so it does not slow the replies being sent now (a crash in that second sends
        the message to Rasa again at the next start, under its own id: stored once)."""
        messages = list(messages)
        await self.written(messages)  # or the row would outlive its message
        message_ids = [message.message_id for message in messages]
        if wait:
            await self.forget_ids(message_ids)
        elif self.store is not None:
            self._later.extend(message_ids)
            if self._later_timer is None:
                self._later_timer = asyncio.get_running_loop().call_later(
                    FORGET_AFTER, self._forget_later)

    async def forget_ids(self, message_ids: Iterable[str], *, wait: bool = True) -> None:
        """Delete kept messages by id; with `wait`, until the delete is committed."""
        message_ids = [message_id for message_id in message_ids if message_id in self._kept]
        if self.store is None or not message_ids:
            return
        commit = self._commit()
        self._to_forget.extend(message_ids)
        if wait:
            await asyncio.wait([commit])

    def _forget_later(self) -> None:
        """Put the deletes that waited into the next commit."""
        if self._later_timer is not None:
            self._later_timer.cancel()
            self._later_timer = None
        message_ids = [message_id for message_id in self._later if message_id in self._kept]
        self._later = []
        if message_ids:
            self._commit()
            self._to_forget.extend(message_ids)

    async def flush(self) -> None:
        """Wait until every write and delete asked for so far is committed (or has failed)."""
        self._forget_later()  # the deletes that wait go now
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    def _commit(self) -> asyncio.Future:
        """The commit that the next changes go in, with a writer on its way to make it."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._writer is None or self._writer.done():
                self._writer = asyncio.ensure_future(self._write())
        return self._next

    async def _write(self) -> None:
        while self._next is not None:
            commit, self._next = self._next, None
            keep, self._to_keep = self._to_keep, []
            forget, self._to_forget = self._to_forget, []
            marks, self._to_mark = self._to_mark, {}
            try:
                await asyncio.to_thread(self.store.change_waiting, keep=keep, forget=forget,
                                        delivered=marks)
            except Exception as exc:  # noqa: BLE001 - Rasa's answer matters more than the copy
                # Messages not written are tried again when Rasa rests or the bot stops; until
                # then only a crash would lose them. Rows not deleted go to Rasa again at a start.
                log.error("Could not keep %d message(s) for Rasa in the store, nor delete %d "
                          "(%s): the new ones are kept in memory only until a retry, and a start "
                          "would send the others to Rasa again", len(keep), len(forget),
                          exc.__class__.__name__)
            else:
                self._kept.update(message.message_id for message in keep)
                self._kept.difference_update(forget)
            finally:
                for message in keep:
                    self._writing.pop(message.message_id, None)
                commit.set_result(None)
