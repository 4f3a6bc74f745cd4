"""Update messages over Telegram: python-telegram-bot's Bot at TELEGRAM_BASE_URL, one button."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable, Optional

from bot.staff.notify import MaybeDelivered, NotDelivered, NotifierUnavailable, UpdateMessage

log = logging.getLogger(__name__)
WAIT_OUT_SECONDS = 60.0  # a longer flood wait: not delivered now, tried at the next run
WAIT_OUT_TIMES = 3


class TelegramNotifier:
    """Sends update messages to Telegram chats; use it as a context manager."""

    channel = "telegram"

    def __init__(self, token: str, base_url: str = "", timeout: float = 20.0,
                 speech: Optional[Callable[[str], Optional[Path]]] = None):
        self.token = token
        self.base_url = base_url
        self.timeout = timeout
        # The words read aloud, as an OGG/Opus file (None when no voice could say them).
        self.speech = speech
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._bot = None

    def __enter__(self) -> "TelegramNotifier":
        from telegram import Bot
        from telegram.error import InvalidToken, TelegramError
        from telegram.request import HTTPXRequest

        from bot.telegram.app import api_urls

        if not self.token:
            raise NotifierUnavailable("TELEGRAM_BOT_TOKEN is not set.")
        kwargs = {}
        if self.base_url:
            kwargs["base_url"], kwargs["base_file_url"] = api_urls(self.base_url)
        request = HTTPXRequest(connect_timeout=self.timeout, read_timeout=self.timeout,
                               write_timeout=self.timeout)
        self._loop = asyncio.new_event_loop()
        self._bot = Bot(self.token, request=request, **kwargs)
        try:
            self._loop.run_until_complete(self._bot.initialize())
        except InvalidToken:
            self._close_loop()
            raise NotifierUnavailable("Telegram did not accept TELEGRAM_BOT_TOKEN.") from None
        except TelegramError as error:
            self._close_loop()
            raise NotifierUnavailable(f"Could not reach the Telegram Bot API: {error}") from None
        return self

    def __exit__(self, *exc_info) -> None:
        if self._loop is not None:
            try:
                self._loop.run_until_complete(self._bot.shutdown())
            finally:
                self._close_loop()

    def _close_loop(self) -> None:
        self._loop.close()
        self._loop = None

    def send(self, address: str, message: UpdateMessage) -> None:
        """Send the message to the chat id in `address`, buttons under its last part."""
        if self._loop is None:
            raise RuntimeError("Use TelegramNotifier as a context manager")
        self._loop.run_until_complete(self._send(address, message))

    async def _send(self, address: str, message: UpdateMessage) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken,
                                    NetworkError, RetryAfter, TelegramError, TimedOut)

        from bot.telegram.render import split_text

        chat_id = int(address) if address.lstrip("-").isdigit() else address
        parts = split_text(message.text)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=payload)]
                                       for title, payload in message.buttons])
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            try:
                await self._send_part(chat_id, part, markup if last else None)
            except InvalidToken:
                raise NotifierUnavailable("Telegram did not accept TELEGRAM_BOT_TOKEN.") from None
            except TimedOut as error:
                raise MaybeDelivered(f"Telegram did not answer in time: {error}") from None
            except (BadRequest, Forbidden, ChatMigrated, RetryAfter) as error:
                if number:  # earlier parts went out already
                    raise MaybeDelivered(f"only part of the message went: {error}") from None
                raise NotDelivered(f"Telegram refused the message: {error}") from None
            except NetworkError as error:
                if "ConnectError" in str(error) and not number:
                    raise NotifierUnavailable(f"Could not reach the Telegram Bot API: {error}") \
                        from None
                raise MaybeDelivered(f"Telegram's answer was lost: {error}") from None
            except TelegramError as error:
                raise MaybeDelivered(str(error)) from None
        if message.sound and self.speech is not None:
            await self._send_voice(chat_id, message.text)

    async def _send_part(self, chat_id, text: str, markup) -> None:
        """One message; a flood wait Telegram asks for (429) is waited out, when short enough,
        and the message sent again, so a run with many people is not left half done."""
        from telegram.error import RetryAfter

        for attempt in range(WAIT_OUT_TIMES + 1):
            try:
                await self._bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
                return
            except RetryAfter as error:
                wait = error.retry_after.total_seconds() \
                    if hasattr(error.retry_after, "total_seconds") else float(error.retry_after)
                if attempt == WAIT_OUT_TIMES or wait > WAIT_OUT_SECONDS:
                    raise
                log.info("Telegram asked to wait %.0f s before the next message", wait)
                await asyncio.sleep(wait)

    async def _send_voice(self, chat_id, text: str) -> None:
        """The news read aloud, after its words: a voice that fails is logged, never a reason to
        send the words again (they arrived)."""
        from telegram.error import TelegramError

        try:
            ogg = await asyncio.to_thread(self.speech, text)
            if ogg is None:
                log.warning("No voice could read an update aloud; its words went")
                return
            data = await asyncio.to_thread(ogg.read_bytes)
            await self._bot.send_voice(chat_id=chat_id, voice=data, filename="news.ogg")
        except (TelegramError, OSError) as error:
            log.warning("An update's voice note did not go (its words did): %s",
                        error.__class__.__name__)
