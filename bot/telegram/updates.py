"""Reading updates from the Bot API: one update that cannot be read is passed over, not retried forever."""
from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class TolerantBot(ExtBot):
    """The bot as python-telegram-bot makes it, except that getUpdates answers are read one
    update at a time: an update the library cannot read (a new kind of message, a broken
    field) becomes an empty update with its id. Otherwise the whole batch fails, the same batch
    is fetched again and again, nobody's message gets through, and the log fills with their
    words."""

    async def _post(self, endpoint, data=None, *args, **kwargs):
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            return [readable for readable in map(self._readable, result) if readable is not None]
        return result

    def _readable(self, raw):
        """The update as it came if it can be read; else its id alone (so polling moves past
        it), or None when even the id is missing."""
        try:
            # Read here to test it, and again by the library: tens of microseconds an update,
            # next to the second or so a Rasa turn takes.
            Update.de_json(raw, self)
            return raw
        except Exception as error:  # noqa: BLE001 - any update the library cannot read
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            # The words stay out of the log: they are a participant's.
            log.warning("Passed over Telegram update %s, which could not be read (%s)",
                        update_id, error.__class__.__name__)
            return {"update_id": update_id} if isinstance(update_id, int) else None
