"""What the Telegram transport must remember across restarts: handled updates, used keyboards,
uploaded voice notes, long button payloads, and messages waiting for Rasa's answer.

Only the waiting messages hold personal data (the words and the chat id), and only until Rasa
has answered them, patience runs out or the participant's data are erased; the other keys are ids
or keyed hashes. The tables are defined in bot/store/models.py and made by Alembic (revisions
0003 and 0004).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterable, List, NamedTuple, Optional

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)

from bot.store.models import Base  # noqa: E402  the tables live with the rest of the store
from bot.store.models import telegram_files as files_table  # noqa: E402
from bot.store.models import telegram_keyboards as keyboards_table  # noqa: E402
from bot.store.models import telegram_payloads as payloads_table  # noqa: E402
from bot.store.models import telegram_updates as updates_table  # noqa: E402
from bot.store.models import telegram_waiting as waiting_table  # noqa: E402

metadata = Base.metadata


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Waiting(NamedTuple):
    """A message kept for Rasa, as stored."""

    chat_id: int
    sender: str
    message_id: str
    text: str
    language: Optional[str]
    kept_at: datetime
    delivered: int = 0  # messages of its reply Telegram has shown (see Relay._send_replies)


class TelegramState:
    """Small, blocking store for the transport; call it from a thread when in the event loop.

    Update ids, message ids and file ids belong to one bot, so their keys carry the bot's id
    (the public number before the colon in its token): a new bot never meets an old bot's keys.
    """

    def __init__(self, engine: Engine, bot_id: str = ""):
        self._engine = engine
        self._bot_id = bot_id
        self._scope = f"{bot_id}:"

    def create_tables(self) -> None:
        """Create only the transport's tables if missing (tests; Alembic makes them in use)."""
        metadata.create_all(self._engine, tables=[updates_table, keyboards_table, files_table,
                                                  payloads_table, waiting_table])

    def seen_update(self, update_id: int) -> bool:
        """Record an update; True if it was already recorded (a duplicate delivery)."""
        return self._insert_once(insert(updates_table).values(
            bot_id=self._bot_id, update_id=update_id, seen_at=_now()))

    def was_update_seen(self, update_id: int) -> bool:
        """True if this update was recorded before (a read: no commit to wait for)."""
        with self._engine.connect() as connection:
            return connection.execute(select(updates_table.c.update_id).where(
                updates_table.c.bot_id == self._bot_id,
                updates_table.c.update_id == update_id)).first() is not None

    def last_update_id(self) -> Optional[int]:
        """The highest update id recorded for this bot, or None."""
        with self._engine.connect() as connection:
            return connection.execute(select(func.max(updates_table.c.update_id)).where(
                updates_table.c.bot_id == self._bot_id)).scalar()

    def spend_keyboard(self, keyboard: str) -> bool:
        """Record that a keyboard (or one button of it) was used; True if it was already."""
        return self._insert_once(insert(keyboards_table).values(
            key=self._scope + keyboard, pressed_at=_now()))

    def was_keyboard_spent(self, keyboard: str) -> bool:
        """True if this keyboard was used before (a read: no commit to wait for)."""
        with self._engine.connect() as connection:
            return connection.execute(select(keyboards_table.c.key).where(
                keyboards_table.c.key == self._scope + keyboard)).first() is not None

    def record_seen(self, update_ids=(), keyboards=()) -> None:
        """Record many updates and keyboards in one commit; ones already there are skipped."""
        now = _now()
        with self._engine.begin() as connection:
            for statement in (
                    [insert(updates_table).values(bot_id=self._bot_id, update_id=update_id,
                                                  seen_at=now) for update_id in update_ids]
                    + [insert(keyboards_table).values(key=self._scope + keyboard, pressed_at=now)
                       for keyboard in keyboards]):
                try:
                    with connection.begin_nested():
                        connection.execute(statement)
                except IntegrityError:
                    pass

    def forget_seen_before(self, days: float = 30) -> int:
        """Delete records of updates and keyboards older than this many days; return how many."""
        cutoff = _now() - timedelta(days=days)
        with self._engine.begin() as connection:
            updates = connection.execute(
                delete(updates_table).where(updates_table.c.seen_at < cutoff)).rowcount
            keyboards = connection.execute(
                delete(keyboards_table).where(keyboards_table.c.pressed_at < cutoff)).rowcount
        return updates + keyboards

    def remember_file_id(self, key: str, file_id: str) -> None:
        """Keep the file_id Telegram gave an uploaded voice note (the latest one wins)."""
        key = self._scope + key
        with self._engine.begin() as connection:
            connection.execute(delete(files_table).where(files_table.c.key == key))
            connection.execute(insert(files_table).values(key=key, file_id=file_id,
                                                          created_at=_now()))

    def file_id(self, key: str) -> Optional[str]:
        """The file_id of a voice note uploaded before, or None."""
        with self._engine.connect() as connection:
            return connection.execute(select(files_table.c.file_id).where(
                files_table.c.key == self._scope + key)).scalar_one_or_none()

    def forget_file_id(self, key: str) -> None:
        """Forget a file_id Telegram no longer accepts, so the audio is uploaded again."""
        with self._engine.begin() as connection:
            connection.execute(delete(files_table).where(files_table.c.key == self._scope + key))

    def remember_payload(self, key: str, payload: str) -> None:
        """Keep a button payload too long for Telegram's callback data under a short key."""
        self._insert_once(insert(payloads_table).values(key=key, payload=payload,
                                                        created_at=_now()))

    def payload(self, key: str) -> Optional[str]:
        """The button payload kept under a short key, or None."""
        with self._engine.connect() as connection:
            return connection.execute(select(payloads_table.c.payload).where(
                payloads_table.c.key == key)).scalar_one_or_none()

    def keep_waiting(self, messages: Iterable) -> None:
        """Keep messages for Rasa (objects with chat_id, sender, message_id, text, language)
        in one commit, in this order; one kept already is left as it was."""
        self.change_waiting(keep=messages)

    def change_waiting(self, *, keep: Iterable = (), forget: Iterable[str] = (),
                       delivered: Optional[Dict[str, int]] = None) -> None:
        """Keep messages for Rasa, record how many reply messages of kept ones were shown
        (message id -> count), then delete kept ones by message id, in one commit."""
        keep, forget, delivered = list(keep), list(forget), dict(delivered or {})
        if not keep and not forget and not delivered:
            return
        now = _now()
        rows: dict = {}  # message id -> its row, the first of each id, in order
        for message in keep:
            rows.setdefault(message.message_id, dict(
                bot_id=self._bot_id, message_id=message.message_id, chat_id=message.chat_id,
                sender=message.sender, text=message.text, language=message.language,
                kept_at=now))
        with self._engine.begin() as connection:
            if rows:
                _insert_new(connection, waiting_table, list(rows.values()),
                            ["bot_id", "message_id"])
            for message_id, count in delivered.items():
                connection.execute(update(waiting_table).where(
                    waiting_table.c.bot_id == self._bot_id,
                    waiting_table.c.message_id == message_id).values(delivered=count))
            if forget:
                connection.execute(delete(waiting_table).where(
                    waiting_table.c.bot_id == self._bot_id,
                    waiting_table.c.message_id.in_(forget)))

    def waiting(self) -> List[Waiting]:
        """The messages kept for Rasa, oldest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(
                waiting_table.c.chat_id, waiting_table.c.sender, waiting_table.c.message_id,
                waiting_table.c.text, waiting_table.c.language, waiting_table.c.kept_at,
                waiting_table.c.delivered,
            ).where(waiting_table.c.bot_id == self._bot_id).order_by(waiting_table.c.id)).all()
        return [Waiting(*row[:5], _aware(row[5]), row[6] or 0) for row in rows]

    def forget_waiting(self, message_ids: Iterable[str]) -> None:
        """Delete kept messages once Rasa has them or the participant was asked to send again."""
        self.change_waiting(forget=message_ids)

    def _insert_once(self, statement) -> bool:
        """Run an insert; True if the row was there already."""
        try:
            with self._engine.begin() as connection:
                connection.execute(statement)
        except IntegrityError:
            return True
        return False


def _insert_new(connection, table, rows: List[dict], key: List[str]) -> None:
    """Insert rows in one statement, in order, leaving any whose key is there already."""
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert_or_skip = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(table)
        connection.execute(insert_or_skip.values(rows).on_conflict_do_nothing(index_elements=key))
        return
    for row in rows:  # elsewhere one savepoint each, which costs more
        try:
            with connection.begin_nested():
                connection.execute(insert(table).values(row))
        except IntegrityError:
            pass


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
