"""Rasa's tracker store (its `events` table) seen from our side, so erasure reaches it too."""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, delete, func, inspect, select
from sqlalchemy.engine import URL, Engine

from bot.settings import Settings
from bot.store.db import scrub_deleted

log = logging.getLogger(__name__)


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
