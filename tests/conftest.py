"""Shared fixtures: settings for a scratch directory, databases on SQLite and PostgreSQL,
and the real Rasa and action servers (trained once per test run with a low-epoch config)."""
from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.settings import PROJECT_ROOT, Settings

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # tests never reach the internet
POSTGRES_ADMIN_URL = os.environ.get("COPRODUCE_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")
TEST_CONFIG = PROJECT_ROOT / "tests" / "rasa" / "config.test.yml"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tagger_path() -> Path:
    """One theme tagger for every test run on this machine, trained again when the examples change."""
    import hashlib

    examples = PROJECT_ROOT / "data" / "themes" / "examples.jsonl"
    digest = hashlib.sha256(examples.read_bytes()).hexdigest()[:12]
    return PROJECT_ROOT / "models" / f"themes-test-{digest}.npz"


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings pointing at a scratch var/ directory and a SQLite database there."""
    values = dict(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'coproduce.db'}",
                  hash_key="test-key", rasa_config=TEST_CONFIG, themes_model=test_tagger_path())
    values.update(overrides)
    return Settings.from_env(environ={}, **values)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings for one test, with its own SQLite database."""
    return make_settings(tmp_path)


def _postgres_database() -> str:
    """Create a fresh PostgreSQL database for a test and return its URL."""
    name = "coproduce_test_" + uuid.uuid4().hex[:10]
    admin = create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for this test: {exc}")
    finally:
        admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """An empty database on SQLite and on PostgreSQL, in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = _postgres_database()
    yield url
    _drop_postgres_database(url)


@pytest.fixture(scope="session", autouse=True)
def theme_tagger() -> Path:
    """Train the test theme tagger once, before any test needs it."""
    from bot.themes.loading import load_or_train

    path = test_tagger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    load_or_train(path)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """The Rasa model for the current data, trained once per run with the low-epoch config."""
    from bot.rasa_model import ensure_model

    settings = Settings.from_env(rasa_config=TEST_CONFIG)
    return ensure_model(settings)


@dataclasses.dataclass
class RunningServers:
    """The real Rasa and action servers of one test session."""

    settings: Settings
    rasa_url: str


@pytest.fixture(scope="session")
def rasa_servers(tmp_path_factory, trained_model) -> RunningServers:
    """Rasa (REST) and the action server on free ports, with a scratch SQLite database."""
    from bot.servers import Servers
    from bot.store.migrate import upgrade

    var = tmp_path_factory.mktemp("servers-var")
    settings = make_settings(var, rasa_port=free_port(), action_port=free_port())
    upgrade(settings.database_url)
    servers = Servers(settings, trained_model, env={**os.environ, **settings.to_env()})
    servers.start()
    yield RunningServers(settings=settings, rasa_url=settings.rasa_url)
    servers.stop()


@pytest.fixture(scope="session")
def rasa_servers_pg(tmp_path_factory, trained_model) -> RunningServers:
    """Rasa and the action server with the store and tracker store on PostgreSQL."""
    from bot.servers import Servers
    from bot.store.migrate import upgrade

    url = _postgres_database()
    var = tmp_path_factory.mktemp("servers-pg-var")
    settings = make_settings(var, database_url=url, rasa_port=free_port(),
                             action_port=free_port())
    upgrade(settings.database_url)
    servers = Servers(settings, trained_model, env={**os.environ, **settings.to_env()})
    servers.start()
    yield RunningServers(settings=settings, rasa_url=settings.rasa_url)
    servers.stop()
    _drop_postgres_database(url)
