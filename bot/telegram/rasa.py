"""An asynchronous client for Rasa's REST channel, so many chats can wait on Rasa at once."""
from __future__ import annotations

import asyncio
import logging
from typing import List, Optional

import aiohttp

from bot.rest_client import RasaUnavailable

log = logging.getLogger(__name__)


class RasaChannel:
    """Sends one participant message to Rasa as a given input channel and returns the replies."""

    # A busy Rasa can take many seconds; it is thinking, not resting. Only a refused connection,
    # a server error or this long a silence counts as resting (a retry could repeat the turn).
    def __init__(self, rasa_url: str, channel: str = "telegram", timeout: float = 300.0):
        self.url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"
        self.channel = channel
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    async def send(self, sender: str, text: str, *, message_id: str,
                   metadata: Optional[dict] = None) -> List[dict]:
        """Send a message once; raise RasaUnavailable if Rasa cannot be reached or fails."""
        body = {"sender": sender, "message": text, "input_channel": self.channel,
                "metadata": {**(metadata or {}), "message_id": message_id}}
        try:
            async with self._client().post(self.url, json=body) as response:
                if response.status >= 500:
                    raise RasaUnavailable(f"Rasa answered {response.status}")
                response.raise_for_status()
                return await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=128))
        return self._session

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()
