"""A stub for Rasa's REST channel, for transport tests that do not need the real dialogue."""
from __future__ import annotations

import asyncio


class StubRasa:
    """Answers like Rasa's REST channel with canned replies, and keeps what it was sent."""

    def __init__(self, reply=None, delay: float = 0.0):
        self.sent = []
        self.delay = delay
        self.reply = reply or (lambda text: [{"text": f"You sent: {text}"}])

    async def send(self, sender, text, *, message_id, metadata=None):
        self.sent.append({"sender": sender, "text": text, "message_id": message_id,
                          "metadata": metadata})
        await asyncio.sleep(self.delay)
        return self.reply(text)
