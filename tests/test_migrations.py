"""Migrations: an empty database upgrades to head and then matches the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Base


def test_upgrade_to_head_matches_the_models(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert set(Base.metadata.tables) <= tables


def test_upgrade_twice_is_harmless(database_url):
    upgrade(database_url)
    upgrade(database_url)
