"""Tell first deliveries from repeats at once: memory for recent ones, the store across restarts."""
from __future__ import annotations

import asyncio
import collections
import logging
from typing import Callable, Hashable, List, Optional

from bot.telegram.state import TelegramState

log = logging.getLogger(__name__)


class SeenGuard:
    """Answers "seen before?" without waiting for a database commit, which can take milliseconds.

    Telegram numbers updates in increasing order, so an update above the highest number ever
    recorded is new without asking the store. Below it (after a restart, or when Telegram starts
    numbering again) the store is read. First sightings are written together, a moment later,
    in one commit; after a crash the answers' own message ids still stop anything stored twice.
    """

    def __init__(self, state: TelegramState, background: Callable, *, memory: int = 50_000,
                 write_after: float = 0.5):
        self._state = state
        self._background = background
        self._memory = memory
        self._write_after = write_after
        self._recent: "collections.OrderedDict[Hashable, None]" = collections.OrderedDict()
        self._highest: Optional[int] = None
        self._updates: List[int] = []
        self._keyboards: List[str] = []
        self._writer: Optional[asyncio.Task] = None

    async def new_update(self, update_id: int) -> bool:
        """True the first time an update is delivered."""
        if not self._first_sight(("update", update_id)):
            return False
        if self._highest is None:
            self._highest = await asyncio.to_thread(self._state.last_update_id) or -1
        if update_id <= self._highest and \
                await asyncio.to_thread(self._state.was_update_seen, update_id):
            return False
        self._highest = max(self._highest, update_id)
        self._updates.append(update_id)
        self._write_soon()
        return True

    async def fresh_keyboard(self, key: str, sent_here: bool) -> bool:
        """True the first time a keyboard (or a button of a multiple choice) is pressed.

        `sent_here`: this process sent the keyboard and still shows it, so the store has
        nothing older to say about it.
        """
        if not self._first_sight(("keyboard", key)):
            return False
        if not sent_here and await asyncio.to_thread(self._state.was_keyboard_spent, key):
            return False
        self._keyboards.append(key)
        self._write_soon()
        return True

    async def close(self) -> None:
        """Write whatever is still waiting."""
        if self._writer is not None:
            self._writer.cancel()
        await self._write()

    def _first_sight(self, key: Hashable) -> bool:
        if key in self._recent:
            return False
        self._recent[key] = None
        if len(self._recent) > self._memory:
            self._recent.popitem(last=False)
        return True

    def _write_soon(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = self._background(self._write_later(), "recording updates")

    async def _write_later(self) -> None:
        await asyncio.sleep(self._write_after)
        await self._write()

    async def _write(self) -> None:
        updates, keyboards = self._updates, self._keyboards
        self._updates, self._keyboards = [], []
        if updates or keyboards:
            await asyncio.to_thread(self._state.record_seen, updates, keyboards)
