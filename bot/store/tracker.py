"""Rasa's tracker store (its `events` table) seen from our side: erasing and reading it back."""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import List, Optional

from sqlalchemy import (MetaData, Table, column, create_engine, delete, func, inspect, select,
                        table)
from sqlalchemy.engine import URL, Engine

from bot.settings import Settings
from bot.store.db import scrub_deleted

log = logging.getLogger(__name__)

# The columns of Rasa's `events` table we read (Rasa owns and creates the table).
_EVENT_ROWS = table("events", column("id"), column("sender_id"), column("type_name"),
                    column("data"))
MESSAGE_EVENTS = ("user", "bot")


def tracker_engine(settings: Settings) -> Engine:
    """An engine on the database Rasa keeps its conversation events in."""
    from bot.servers import tracker_store_config

    config = tracker_store_config(settings)
    if config["dialect"] == "sqlite":
        Path(config["db"]).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(f"sqlite:///{config['db']}", future=True)
    url = URL.create(config["dialect"], username=config.get("username"),
                     password=config.get("password"), host=config.get("url"),
                     port=config.get("port"), database=config.get("db"))
    return create_engine(url, future=True)


def prepare_tracker_store(settings: Settings) -> None:
    """Put an SQLite tracker store in WAL mode (kept in the file): fewer syncs per turn, and our
    erasures can read while Rasa writes. Nothing to do for PostgreSQL."""
    engine = tracker_engine(settings)
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    finally:
        engine.dispose()


def _events(engine: Engine):
    if "events" not in inspect(engine).get_table_names():
        return None
    return Table("events", MetaData(), autoload_with=engine)


def delete_conversation(engine: Engine, sender_id: str) -> int:
    """Delete every stored event of one conversation; returns how many went."""
    events = _events(engine)
    if events is None:
        return 0
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA secure_delete=ON")  # overwrite, not just unlink
        deleted = connection.execute(delete(events).where(events.c.sender_id == sender_id)).rowcount
    if deleted:
        scrub_deleted(engine)
    return deleted


def delete_written_back(engine: Engine, sender_id: str) -> int:
    """After an erasure, delete what Rasa wrote back when it saved the erasure's turn (the whole
    conversation it still held): every event up to the end of the turn whose reply said the data
    was erased (`custom.erased`), never a conversation begun after it (from its session start
    or first message on). Nothing when no such reply is stored. Returns how many went."""
    events = _events(engine)
    if events is None:
        return 0
    mine = events.c.sender_id == sender_id
    with engine.begin() as connection:
        erased = connection.execute(select(func.max(events.c.id)).where(
            mine, events.c.type_name == "bot", events.c.data.like('%"erased": true%'))).scalar()
        if erased is None:
            return 0
        begun = connection.execute(select(func.min(events.c.id)).where(
            mine, events.c.id > erased,
            (events.c.type_name == "user") | (events.c.action_name == "action_session_start"))).scalar()
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA secure_delete=ON")  # overwrite, not just unlink
        condition = mine if begun is None else mine & (events.c.id < begun)
        deleted = connection.execute(delete(events).where(condition)).rowcount
    if deleted:
        scrub_deleted(engine)
    return deleted


def count_events(engine: Engine, sender_id: str) -> int:
    """How many events Rasa keeps for this conversation."""
    events = _events(engine)
    if events is None:
        return 0
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(events)
                                  .where(events.c.sender_id == sender_id)).scalar_one()


def recent_messages(engine: Engine, sender_id: str, *, limit: int) -> List[dict]:
    """The newest `limit` user and bot events of one conversation, oldest first, as Rasa stored
    them; raises SQLAlchemyError when the store cannot be read (no `events` table, server down)."""
    query = (select(_EVENT_ROWS.c.data)
             .where(_EVENT_ROWS.c.sender_id == sender_id,
                    _EVENT_ROWS.c.type_name.in_(MESSAGE_EVENTS))
             .order_by(_EVENT_ROWS.c.id.desc()).limit(limit))
    with engine.connect() as connection:
        stored = connection.execute(query).scalars().all()
    messages = []
    for data in reversed(stored):
        try:
            event = json.loads(data or "")
        except ValueError:
            continue  # not written by Rasa: nothing we could show
        if isinstance(event, dict):
            messages.append(event)
    return messages


def rest_replies(event: dict, *, files: bool = True) -> List[dict]:
    """What Rasa's REST channel sent for one stored bot message (files: keep a file it carried)."""
    data = event.get("data") or {}
    text = event.get("text")
    buttons = data.get("quick_replies") or data.get("buttons")
    if buttons:
        replies = [{"text": text, "buttons": buttons}]
    elif text:  # Rasa's REST channel sends each paragraph of a message without buttons alone
        replies = [{"text": part} for part in str(text).strip().split("\n\n")]
    else:
        replies = []
    custom = data.get("custom")
    if isinstance(custom, dict):
        kept = {name: value for name, value in custom.items() if files or name != "document"}
        if kept:
            replies.append({"custom": kept})
    for kind in ("image", "attachment"):
        if data.get(kind):
            replies.append({kind: data[kind]})
    return replies


def replies_to(engine: Engine, sender_id: str, message_id: str, *,
               look_back: int = 200) -> Optional[List[dict]]:
    """Rasa's replies to the participant's message with this id, as its REST channel sent them
    (the bot messages after it, up to their next message); None when Rasa has no such message
    among the conversation's last `look_back` messages. Raises SQLAlchemyError when the store
    cannot be read."""
    events = recent_messages(engine, sender_id, limit=look_back)
    asked = next((index for index in range(len(events) - 1, -1, -1)
                  if events[index].get("event") == "user"
                  and message_id in ((events[index].get("metadata") or {}).get("message_id"),
                                     events[index].get("message_id"))), None)
    if asked is None:
        return None
    replies: List[dict] = []
    for event in events[asked + 1:]:
        if event.get("event") == "user":
            break
        replies.extend(rest_replies(event))
    return replies


def delete_older_than(engine: Engine, cutoff_timestamp: float, dry_run: bool = False) -> int:
    """Delete (or, on a dry run, count) the stored events of every conversation whose newest
    event is older than this Unix time. A conversation still going keeps its older events too:
    without them Rasa would forget where it is (the role, the step), as if it had begun again."""
    events = _events(engine)
    if events is None:
        return 0
    quiet = select(events.c.sender_id).group_by(events.c.sender_id) \
        .having(func.max(events.c.timestamp) < cutoff_timestamp)
    old = events.c.sender_id.in_(quiet)
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(select(func.count()).select_from(events).where(old)).scalar_one()
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA secure_delete=ON")  # overwrite, not just unlink
        deleted = connection.execute(delete(events).where(old)).rowcount
    if deleted:
        scrub_deleted(engine)
    return deleted


class TrackerReader:
    """Reads one conversation's stored messages from Rasa's tracker store; blocking database
    reads, so call it from a thread. The engine is made on first use, and an unreadable store
    gives a warning and an empty answer, never an error."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()
        self._unreadable = False  # replies_to has warned that the store cannot be read

    def messages(self, sender: str, *, limit: int) -> List[dict]:
        """The sender's newest user and bot events, oldest first; [] if the store cannot be read."""
        try:
            return recent_messages(self._connect(), sender, limit=limit)
        except Exception as error:  # noqa: BLE001 - an unreadable store must not break the chat
            log.warning("Could not read a conversation back from Rasa's tracker store, so it "
                        "starts afresh: %s", _reason(error))
            return []

    def has_talked(self, sender: str) -> Optional[bool]:
        """Whether Rasa keeps any message of this conversation; None if the store cannot be read."""
        try:
            return bool(recent_messages(self._connect(), sender, limit=1))
        except Exception as error:  # noqa: BLE001 - then nobody is told the chat is new
            log.warning("Could not read Rasa's tracker store to see whether a chat is new: %s",
                        _reason(error))
            return None

    def replies_to(self, sender: str, message_id: str) -> Optional[List[dict]]:
        """Rasa's replies to that message (see replies_to); None if Rasa has not answered it or
        the store cannot be read."""
        try:
            replies = replies_to(self._connect(), sender, message_id)
        except Exception as error:  # noqa: BLE001 - then the message simply goes to Rasa again
            # Once until the store can be read again: many messages may be resumed at a start.
            log.log(logging.DEBUG if self._unreadable else logging.WARNING,
                    "Could not read Rasa's tracker store to see whether a message was answered "
                    "before, so it goes to Rasa again: %s", _reason(error))
            self._unreadable = True
            return None
        self._unreadable = False
        return replies

    def _connect(self) -> Engine:
        with self._lock:  # made on first use: building an app connects nothing
            if self._engine is None:
                self._engine = tracker_engine(self._settings)
            return self._engine

    def close(self) -> None:
        """Close the database connections, if any were made."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _reason(error: Exception) -> str:
    # The driver's own first line ("no such table: events", "connection refused"), never the
    # statement or its parameters.
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{error.__class__.__name__}: {detail[0][:200] if detail else ''}"
