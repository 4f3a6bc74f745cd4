"""Rasa's tracker store (its `events` table) seen from our side: erasing and reading it back."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import List

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


def delete_older_than(engine: Engine, cutoff_timestamp: float, dry_run: bool = False) -> int:
    """Delete (or, on a dry run, count) every stored event older than this Unix time."""
    events = _events(engine)
    if events is None:
        return 0
    old = events.c.timestamp < cutoff_timestamp
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(select(func.count()).select_from(events).where(old)).scalar_one()
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA secure_delete=ON")  # overwrite, not just unlink
        deleted = connection.execute(delete(events).where(old)).rowcount
    if deleted:
        scrub_deleted(engine)
    return deleted
