"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError,
                            OperationalError)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

SQL_URL_EXAMPLES = "sqlite:///path/to/file.db or postgresql://user@host:port/name"


class DatabaseSetupError(Exception):
    """The database URL cannot be used, or its SQLite file cannot be made; nothing was connected."""


class DatabaseURLError(DatabaseSetupError):
    """The database URL is not one we can use: not a URL, an unknown kind of database, no driver."""

    def __init__(self, url: str, reason: str = "", *, no_driver: bool = False):
        because = f" ({reason})" if reason else ""
        super().__init__(f"Not a database address we can use: {hide_password(url)!r}{because}")
        self.url = url
        self.reason = reason
        self.no_driver = no_driver


class DatabaseFileError(DatabaseSetupError):
    """The folder for an SQLite database file cannot be made."""


class DatabaseMissingError(DatabaseFileError):
    """A command that works on stored data was pointed at an SQLite file that does not exist."""

    def __init__(self, path: str, setting: str = "COPRODUCE_DATABASE_URL"):
        super().__init__(f"There is no database at {path}. Check the address in {setting}; "
                         "`coproduce db upgrade` makes a new database.")
        self.path = path


def make_engine(url: str, *, must_exist: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL mode, foreign keys and a busy timeout.

    A URL that cannot be used raises DatabaseURLError; a folder for the SQLite file that cannot
    be made raises DatabaseFileError. must_exist (for staff commands, which work on stored data):
    an SQLite file that is not there raises DatabaseMissingError, and nothing is made, so a
    mistyped path leaves no empty database behind. Nothing connects yet: a server that is down
    shows as an OperationalError on first use.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(url) from None
    except ValueError:  # e.g. a port that is not a number
        raise DatabaseURLError(url, "the port must be a number") from None
    kwargs = {"future": True, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if database and database != ":memory:":
            if must_exist and not Path(database).is_file():
                raise DatabaseMissingError(database)
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseFileError(
                    f"Cannot open the SQLite database file {database}: its folder cannot be made "
                    f"({error.strerror or error}). Check the path, and that you may write there."
                ) from None
            # Keep connections open (SQLAlchemy 1.4 opens one per session for a file by default):
            # a new one costs the pragmas below, and closing the last one checkpoints the WAL.
            kwargs.update(poolclass=QueuePool, pool_size=4, max_overflow=8)
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise DatabaseURLError(url, f"unknown kind of database {parsed.drivername!r}") from None
    except ImportError as error:  # the dialect is known but its driver is not installed
        driver = f"its driver {error.name}" if error.name else "its driver"
        raise DatabaseURLError(url, f"{driver} is not installed", no_driver=True) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; commits skip one fsync
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted words are overwritten, not left behind
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    """A session factory whose sessions keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def lock_for_writing(session: Session) -> None:
    """On SQLite, take the database's write lock before the transaction reads anything
    (BEGIN IMMEDIATE), so nothing it reads can change before it writes; SQLite has no row locks.

    On PostgreSQL it does nothing: the caller locks the rows it will change (SELECT ... FOR UPDATE).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    # The driver opens a transaction only before a write, so one that is open holds the lock.
    if not connection.connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def hide_password(url: str) -> str:
    """The URL as text with any password replaced by ***, even when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: mask anything that looks like user:password@
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", str(url))


def is_missing_table(error: BaseException) -> bool:
    """True if the database answered that a table or column is missing: it is not set up yet,
    or its schema is older than the code (`coproduce db upgrade` fixes both)."""
    text = str(getattr(error, "orig", None) or error).lower()
    return ("no such table" in text or "no such column" in text
            or bool(re.search(r'(relation|column) "[^"]*"( of relation "[^"]*")? does not exist', text)))


def database_problem(error: BaseException, url: Optional[str] = None,
                     setting: str = "COPRODUCE_DATABASE_URL") -> Optional[str]:
    """One plain line saying what is wrong with the database and what to do, or None when the
    error is not about reaching or setting up the database (a bug, say).

    url: the database URL, shown without its password. setting: where the URL came from.
    """
    if isinstance(error, DatabaseURLError):
        reason = f" ({error.reason})" if error.reason else ""
        what = "names a database Coproduce cannot use" if error.no_driver else "is not a database address"
        return f"{setting} {what}: {hide_password(error.url)!r}{reason}. Use {SQL_URL_EXAMPLES}."
    if isinstance(error, DatabaseMissingError):
        return str(DatabaseMissingError(error.path, setting))
    if isinstance(error, DatabaseSetupError):
        return str(error)
    if not isinstance(error, DBAPIError):
        return None
    detail = str(error.orig or error).strip()
    first_line = detail.splitlines()[0] if detail else error.__class__.__name__
    text = detail.lower()
    where = f" at {hide_password(url)}" if url else ""
    if is_missing_table(error):
        return (f"The database could not do that ({first_line}). "
                "Is it up to date? Run `coproduce db upgrade`.")
    if "unable to open database file" in text:
        return (f"Cannot open the SQLite database file{_sqlite_path(url)}. "
                "Check that its folder exists and that you may write there.")
    if "file is not a database" in text:
        return f"The file{_sqlite_path(url)} is not an SQLite database. Check {setting}."
    if "database is locked" in text:
        return "The database file is busy (another program holds a lock on it). Try again in a minute."
    if "readonly database" in text or "read-only" in text:
        return f"The database{where} cannot be written to. Check that you may write to it."
    if "connection refused" in text or ("no such file or directory" in text and "socket" in text):
        return f"Cannot reach the database{where} (connection refused). Is the server running?"
    if "could not translate host name" in text or "name or service not known" in text:
        return f"Cannot reach the database{where} (unknown host name). Check {setting}."
    if "timeout expired" in text or "timed out" in text:
        return f"Cannot reach the database{where} (no answer in time). Is the server running?"
    if "password authentication failed" in text or "no password supplied" in text:
        return f"The database{where} did not accept the user name or password. Check {setting}."
    match = re.search(r'(database|role) "([^"]*)" does not exist', detail)
    if match:
        kind = "database" if match.group(1) == "database" else "user"
        return f"The {kind} {match.group(2)!r} does not exist on the server{where}. Check {setting}."
    if isinstance(error, (OperationalError, InterfaceError)):
        return f"Cannot use the database{where} ({first_line})."
    return None  # e.g. an IntegrityError: a bug, not the operator's to fix


def _sqlite_path(url: Optional[str]) -> str:
    """' /the/file.db' for an SQLite URL, '' otherwise (for a message)."""
    try:
        database = make_url(url).database if url else None
    except Exception:
        return ""
    return f" {database}" if database else ""


def scrub_deleted(engine: Engine) -> None:
    """After an erasure, leave no copy of deleted rows on disk: for SQLite, write the WAL back
    into the database (where secure_delete has zeroed them) and empty it. PostgreSQL reuses the
    space by itself (VACUUM); nothing to do here."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    if busy and busy[0]:
        log.warning("The database was busy: deleted words stay in its WAL file until the next "
                    "checkpoint")

