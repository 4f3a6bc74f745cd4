"""What the Telegram transport must remember across restarts: handled updates, spent keyboards,
uploaded voice notes and long button payloads. No personal data: keys are ids or hashes.

Interim home: these tables belong in bot/store with an Alembic revision; until then
`TelegramState.create_tables()` makes them on the product's engine.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)

metadata = MetaData()

seen_table = Table(
    "telegram_seen", metadata,
    Column("key", String(80), primary_key=True),  # "update:<bot>:<id>" or "keyboard:<bot>:<hash>"
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)
files_table = Table(
    "telegram_files", metadata,
    Column("key", String(100), primary_key=True),  # "<bot>:<audio cache key>" (64 hex)
    Column("file_id", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
payloads_table = Table(
    "telegram_payloads", metadata,
    Column("key", String(32), primary_key=True),  # short key sent as callback data
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TelegramState:
    """Small, blocking store for the transport; call it from a thread when in the event loop.

    Update ids, message ids and file ids belong to one bot, so their keys carry the bot's id
    (the public number before the colon in its token): a new bot never meets an old bot's keys.
    """

    def __init__(self, engine: Engine, bot_id: str = ""):
        self._engine = engine
        self._scope = f"{bot_id}:" if bot_id else ""

    def create_tables(self) -> None:
        """Create the transport's tables if they are missing (until Alembic owns them)."""
        metadata.create_all(self._engine)

    def seen_update(self, update_id: int) -> bool:
        """Record an update; True if it was already recorded (a duplicate delivery)."""
        return self._seen(f"update:{self._scope}{update_id}")

    def spend_keyboard(self, keyboard_key: str) -> bool:
        """Record that a keyboard was used; True if it had already been used."""
        return self._seen(f"keyboard:{self._scope}{keyboard_key}")

    def _seen(self, key: str) -> bool:
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(seen_table).values(key=key, seen_at=_now()))
        except IntegrityError:
            return True
        return False

    def forget_seen_before(self, days: float = 30) -> int:
        """Delete seen-records older than this many days; return how many went."""
        cutoff = _now() - timedelta(days=days)
        with self._engine.begin() as connection:
            return connection.execute(delete(seen_table).where(seen_table.c.seen_at < cutoff)).rowcount

    def remember_file_id(self, key: str, file_id: str) -> None:
        """Keep the file_id Telegram gave an uploaded voice note (the latest one wins)."""
        key = self._scope + key
        with self._engine.begin() as connection:
            connection.execute(delete(files_table).where(files_table.c.key == key))
            connection.execute(insert(files_table).values(key=key, file_id=file_id,
                                                          created_at=_now()))

    def file_id(self, key: str) -> Optional[str]:
        """The file_id of a voice note uploaded before, or None."""
        key = self._scope + key
        with self._engine.connect() as connection:
            return connection.execute(
                select(files_table.c.file_id).where(files_table.c.key == key)).scalar_one_or_none()

    def forget_file_id(self, key: str) -> None:
        """Forget a file_id Telegram no longer accepts, so the audio is uploaded again."""
        key = self._scope + key
        with self._engine.begin() as connection:
            connection.execute(delete(files_table).where(files_table.c.key == key))

    def remember_payload(self, key: str, payload: str) -> None:
        """Keep a button payload too long for Telegram's callback data under a short key."""
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(payloads_table).values(key=key, payload=payload,
                                                                 created_at=_now()))
        except IntegrityError:
            pass  # the same payload is already kept under this key

    def payload(self, key: str) -> Optional[str]:
        """The button payload kept under a short key, or None."""
        with self._engine.connect() as connection:
            return connection.execute(
                select(payloads_table.c.payload).where(payloads_table.c.key == key)
            ).scalar_one_or_none()
