"""Safeguarding alerts to the lead's Telegram chat, through the Bot API at TELEGRAM_BASE_URL."""
from __future__ import annotations

import asyncio
import dataclasses

from bot.settings import Settings


@dataclasses.dataclass
class TelegramAlertRoute:
    """Sends an alert summary to one Telegram chat id."""

    settings: Settings
    chat_id: str
    name: str = "telegram"

    def send(self, summary: str) -> None:
        """Send the summary as a plain message; raise if Telegram does not accept it."""
        asyncio.run(self._send(summary))

    async def _send(self, summary: str) -> None:
        from telegram import Bot

        from bot.telegram.app import api_urls

        kwargs = {}
        if self.settings.telegram_base_url:
            kwargs["base_url"], kwargs["base_file_url"] = api_urls(self.settings.telegram_base_url)
        async with Bot(self.settings.telegram_bot_token, **kwargs) as bot:
            await bot.send_message(chat_id=self.chat_id, text=summary)
