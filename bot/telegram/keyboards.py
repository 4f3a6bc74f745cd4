"""Inline keyboards: built from Rasa's buttons, taken away once used, retired when superseded."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.telegram.render import fits_callback, is_multiple_choice, payload_key
from bot.telegram.state import TelegramState

log = logging.getLogger(__name__)
Buttons = List[Tuple[str, str]]  # (title, callback data)
GONE_PER_CHAT = 200  # keyboards taken away that each chat remembers, newest kept


class Keyboards:
    """Knows which messages in each chat still show buttons, and takes them away at the right time.

    A pressed keyboard goes at once, so a question cannot be answered twice; in a multiple
    choice (every button the same intent, e.g. pick themes) only the pressed button goes.
    Keyboards still showing are retired when a newer message brings buttons of its own.
    """

    def __init__(self, bot: Bot, state: TelegramState, deliver: Callable, background: Callable):
        self.bot = bot
        self._state = state
        self._deliver = deliver
        self._background = background
        self._live: Dict[int, Dict[int, Buttons]] = {}  # chat id -> message id -> buttons shown
        self._multiple: Dict[int, Dict[int, bool]] = {}  # ... -> a multiple choice when sent
        # chat id -> messages whose buttons this process took away (pressed, or replaced by a
        # newer keyboard): a late press on one is stale, even if it was never pressed.
        self._gone: Dict[int, Dict[int, None]] = {}

    async def markup(self, buttons: Sequence[Tuple[str, str]]) -> Optional[InlineKeyboardMarkup]:
        """An inline keyboard for (title, payload) pairs, one button per row for big targets."""
        if not buttons:
            return None
        shown = []
        for title, payload in buttons:
            data = payload
            if not fits_callback(payload):  # over Telegram's 64 bytes: send a short key instead
                data = payload_key(payload)
                await asyncio.to_thread(self._state.remember_payload, data, payload)
            shown.append((title, data))
        return _markup(shown)

    def shown(self, chat_id: int, message_id: int, markup: Optional[InlineKeyboardMarkup]) -> None:
        """Remember that a message sent to a chat shows these buttons."""
        if markup is not None:
            buttons = _buttons(markup)
            self._live.setdefault(chat_id, {})[message_id] = buttons
            self._multiple.setdefault(chat_id, {})[message_id] = \
                is_multiple_choice([data for _, data in buttons])

    def is_live(self, chat_id: int, message_id: int) -> bool:
        """True when this process sent the message and its buttons still show."""
        return message_id in self._live.get(chat_id, {})

    def still_shows(self, chat_id: int, message_id: int, data: str) -> bool:
        """False for a press on a button this process already took away (a late, stale tap,
        or a tap on an old message whose question was answered by typing)."""
        if message_id in self._gone.get(chat_id, {}):
            return False
        if not self.is_live(chat_id, message_id):
            # Sent before a restart: stale once this process has shown a newer keyboard in the
            # chat (Telegram numbers a chat's messages in order); else the store decides.
            newer = [*self._live.get(chat_id, {}), *self._gone.get(chat_id, {})]
            return not newer or message_id > max(newer)
        return any(shown == data for _, shown in self._live[chat_id][message_id])

    def take_away_stale(self, chat_id: int, message_id: int) -> None:
        """Take away the buttons of an old message pressed too late, so they are not pressed
        again (a keyboard from before a restart still shows them)."""
        if not self.is_live(chat_id, message_id) and message_id not in self._gone.get(chat_id, {}):
            self._remember_gone(chat_id, message_id)
            self._edit(chat_id, message_id, None)

    def is_multiple_choice(self, chat_id: int, message_id: int,
                           markup: Optional[InlineKeyboardMarkup]) -> bool:
        """True when the pressed keyboard lets the participant pick several buttons."""
        sent = self._multiple.get(chat_id, {}).get(message_id)
        if sent is not None:
            return sent
        return is_multiple_choice([data for _, data in _buttons(markup)])

    def take_away(self, chat_id: int, message_id: int, data: str,
                  markup: Optional[InlineKeyboardMarkup]) -> None:
        """Take a pressed keyboard away; in a multiple choice, only the pressed button."""
        buttons = self._live.get(chat_id, {}).get(message_id) or _buttons(markup)
        rest = [(title, other) for title, other in buttons if other != data]
        if self.is_multiple_choice(chat_id, message_id, markup) and rest:
            self._live.setdefault(chat_id, {})[message_id] = rest
            self._edit(chat_id, message_id, _markup(rest))
        else:
            self._forget(chat_id, message_id)
            self._edit(chat_id, message_id, None)

    def retire(self, chat_id: int) -> None:
        """Take away every keyboard still showing in a chat: newer buttons replace them."""
        for message_id in self._live.pop(chat_id, {}):
            self._multiple.get(chat_id, {}).pop(message_id, None)
            self._remember_gone(chat_id, message_id)
            self._edit(chat_id, message_id, None)

    def _forget(self, chat_id: int, message_id: int) -> None:
        self._live.get(chat_id, {}).pop(message_id, None)
        self._multiple.get(chat_id, {}).pop(message_id, None)
        self._remember_gone(chat_id, message_id)

    def _remember_gone(self, chat_id: int, message_id: int) -> None:
        gone = self._gone.setdefault(chat_id, {})
        gone[message_id] = None
        while len(gone) > GONE_PER_CHAT:  # the oldest first: a chat's recent keyboards suffice
            del gone[next(iter(gone))]

    def _edit(self, chat_id: int, message_id: int, markup: Optional[InlineKeyboardMarkup]) -> None:
        self._background(self._quietly(lambda: self.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=markup)), "changing buttons")

    async def _quietly(self, call: Callable[[], Awaitable]) -> None:
        try:
            await self._deliver(call, "a change to buttons")
        except BadRequest as exc:  # already changed, or too old to edit: nothing left to do
            log.debug("Telegram refused to change buttons: %s", exc)


def _markup(buttons: Buttons) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=data)]
                                 for title, data in buttons])


def _buttons(markup: Optional[InlineKeyboardMarkup]) -> Buttons:
    if markup is None:
        return []
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row
            if b.callback_data is not None]
