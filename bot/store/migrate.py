"""Apply Alembic migrations from code, so `coproduce` and the tests share one path."""
from __future__ import annotations

import dataclasses
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext

from bot.settings import PROJECT_ROOT
from bot.store.db import make_engine


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
    """Bring the database schema up to this revision (head by default); say what changed."""
    before = current_revision(database_url)
    command.upgrade(alembic_config(database_url), revision)
    return Upgrade(before=before, after=current_revision(database_url))
