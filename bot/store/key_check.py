"""Refuse to work on a store with a hashing key other than the one that made its pseudonyms.

A participant is known by a keyed hash of their channel's user id. With another key (a new
install that did not carry var/secret.key across) nobody who comes back would be known: they
would be told "We keep nothing about you" and "Delete my answers" would miss their answers. So
the store keeps a keyed hash of a fixed text (`key_checks`), and a process whose key does not
give the same hash stops with one line saying what to do.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.identity import key_digest, key_path, read_or_make_key
from bot.settings import Settings
from bot.store.db import DatabaseSetupError, is_missing_table
from bot.store.models import KeyCheck, Participant

FROM_SETTING = "COPRODUCE_HASH_KEY"


class HashKeyError(DatabaseSetupError):
    """The hashing key is not the one that made the store's pseudonyms."""


def check_hash_key(engine: Engine, key: bytes, *, key_file: Path, made: Optional[Path] = None,
                   from_setting: bool = False) -> None:
    """Record the store's key on first use, or check that this key is it (HashKeyError if not).

    made: the key file, if it was made just now; it is removed when refused. A new key for a
    store that holds participants but has no record of its key (one from before the check) is
    refused too, so that the next start does not take the new file for the right one.
    """
    digest = key_digest(key)
    try:
        with engine.begin() as connection:
            stored = connection.execute(select(KeyCheck.digest).where(KeyCheck.id == 1)).scalar()
            if stored is None:
                people = connection.execute(select(func.count()).select_from(Participant)).scalar()
                if people and made is not None:
                    made.unlink(missing_ok=True)
                    raise HashKeyError(
                        f"This database holds {people:,} participant{'s' if people != 1 else ''}, "
                        f"but there was no hashing key ({key_file}), and a new one would not know "
                        f"anyone who comes back. {_fix(key_file)}")
                connection.execute(insert(KeyCheck).values(id=1, digest=digest))
                return
    except IntegrityError:  # another process recorded its key at the same moment
        with engine.connect() as connection:
            stored = connection.execute(select(KeyCheck.digest).where(KeyCheck.id == 1)).scalar()
    except DBAPIError as error:
        if is_missing_table(error):  # a schema from before the check: `db upgrade` adds it
            return
        raise
    if stored != digest:
        if made is not None:  # not kept: the next start must not take it for the store's key
            made.unlink(missing_ok=True)
        where = FROM_SETTING if from_setting else str(key_file)
        raise HashKeyError(
            f"This database was made with another hashing key than the one in {where}: nobody who "
            f"comes back would be known, and their answers could not be found to delete. "
            f"{_fix(key_file)}")


def check_settings_key(settings: Settings, engine: Engine) -> bytes:
    """The hashing key the settings give (made on first use), checked against the store's."""
    key, made = read_or_make_key(settings)
    check_hash_key(engine, key, key_file=key_path(settings), made=made,
                   from_setting=bool(settings.hash_key))
    return key


def _fix(key_file: Path) -> str:
    return (f"Copy {key_file.name} from the install that made the database into {key_file.parent} "
            f"(or set {FROM_SETTING} to that key). If that key is lost for good, "
            "`coproduce db new-key` starts again with this one.")


def replace_key_check(engine: Engine, key: bytes) -> bool:
    """Make this key the store's key from now on (the old one is lost); True if it changed."""
    digest = key_digest(key)
    with engine.begin() as connection:
        stored = connection.execute(select(KeyCheck.digest).where(KeyCheck.id == 1)).scalar()
        if stored == digest:
            return False
        connection.execute(KeyCheck.__table__.delete())
        connection.execute(insert(KeyCheck).values(id=1, digest=digest))
        return True
