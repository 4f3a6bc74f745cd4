"""Apply Alembic migrations from code, so `coproduce` and the tests share one path."""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
from pathlib import Path
from typing import Iterator, Optional

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine

from bot.settings import PROJECT_ROOT
from bot.store.db import DatabaseSetupError, make_engine

# Any number of ours: PostgreSQL's advisory lock that lets one migration run at a time.
MIGRATION_LOCK_KEY = 0x636F70726F64  # "coprod"


class UnknownRevisionError(DatabaseSetupError):
    """The database is at a revision this version of Coproduce does not know."""


@dataclasses.dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the revision before (None: no tables yet) and after."""

    before: Optional[str]
    after: Optional[str]


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration pointed at this database."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def current_revision(database_url: str) -> Optional[str]:
    """The revision the database is at, or None when it has no tables yet."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> Upgrade:
    """Bring the database schema up to this revision (head by default); say what changed.

    Upgrades started at once (two `coproduce db upgrade`, or one beside `make run`) take turns,
    so the second finds the work done. A database at a revision we do not know raises
    UnknownRevisionError.
    """
    config = alembic_config(database_url)
    engine = make_engine(database_url)
    try:
        with _one_migration_at_a_time(engine):
            before = current_revision(database_url)
            scripts = ScriptDirectory.from_config(config)
            if before is not None and not _known(scripts, before):
                raise UnknownRevisionError(
                    f"The database was made by a newer or different version of Coproduce "
                    f"(revision {before}; this version knows up to {scripts.get_current_head()}). "
                    "Use that version, or another database.")
            command.upgrade(config, revision)
            return Upgrade(before=before, after=current_revision(database_url))
    finally:
        engine.dispose()


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


@contextlib.contextmanager
def _one_migration_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold a lock while migrating: PostgreSQL's advisory lock, or for SQLite a file lock on a
    file beside the database (SQLite's own locks do not span Alembic's several transactions)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        lock_file = open(Path(f"{database}.migrate.lock"), "a")
    except OSError:  # a folder we may not write to: SQLite's own error will say so, clearly
        yield
        return
    with lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        yield  # closing the file lets go of the lock
