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
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from bot.settings import PROJECT_ROOT
from bot.store.db import DatabaseSetupError, make_engine

# Any number of ours: PostgreSQL's advisory lock that lets one migration run at a time.
MIGRATION_LOCK_KEY = 0x636F70726F64  # "coprod"


class UnknownRevisionError(DatabaseSetupError):
    """The database is at a revision this version of Coproduce does not know."""


class OutOfDateError(DatabaseSetupError):
    """The database's schema is older than this version of Coproduce: it needs `db upgrade`."""


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
                raise UnknownRevisionError(_unknown_message(before, scripts.get_current_head()))
            command.upgrade(config, revision)
            return Upgrade(before=before, after=current_revision(database_url))
    finally:
        engine.dispose()


def require_current(engine: Engine) -> None:
    """Refuse a database this version cannot work on safely: one made by a newer or different
    version (UnknownRevisionError), or one not upgraded yet (OutOfDateError). A database with
    no tables at all was never set up (OutOfDateError too)."""
    with engine.connect() as connection:  # read as Alembic does, without its notes in the log
        if not inspect(connection).has_table("alembic_version"):
            if inspect(connection).get_table_names():
                return  # tables of another kind: the first query says what is missing
            raise OutOfDateError("The database has no Coproduce tables yet: it was never set "
                                 "up. Run `coproduce db upgrade` first.")
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config(""))  # only the scripts are read
    head = scripts.get_current_head()
    if revision == head:
        return
    if not _known(scripts, revision):
        raise UnknownRevisionError(_unknown_message(revision, head))
    raise OutOfDateError(f"The database is at revision {revision}, older than this version of "
                         f"Coproduce (revision {head}). Run `coproduce db upgrade` first.")


def _unknown_message(revision: str, head: str) -> str:
    return (f"The database was made by a newer or different version of Coproduce "
            f"(revision {revision}; this version knows up to {head}). "
            "Use that version, or another database.")


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
