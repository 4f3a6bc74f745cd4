"""Fixtures for the staff tests: the known data set on SQLite and PostgreSQL, a fake Telegram
Bot API, and domain.yml with the proposed update wording while it lacks it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from tests.staff.staff_data import PENDING_UPDATE_RESPONSES, build_world


@pytest.fixture
def world(tmp_path, database_url):
    """The known data set on SQLite and on PostgreSQL, in turn."""
    built = build_world(tmp_path, database_url)
    yield built
    built.services.engine.dispose()


@pytest.fixture
def sqlite_world(tmp_path):
    """The known data set on SQLite only (for tests whose SQL is covered elsewhere)."""
    built = build_world(tmp_path, f"sqlite:///{tmp_path / 'staff.db'}")
    yield built
    built.services.engine.dispose()


@pytest.fixture(scope="session")
def update_domain(tmp_path_factory) -> Path:
    """domain.yml, or a copy with the proposed update responses while it lacks them."""
    domain = PROJECT_ROOT / "domain.yml"
    content = yaml.safe_load(domain.read_text(encoding="utf-8"))
    responses = content.setdefault("responses", {})
    missing = {name: [{"text": text}] for name, text in PENDING_UPDATE_RESPONSES.items()
               if name not in responses}
    if not missing:
        return domain
    responses.update(missing)
    path = tmp_path_factory.mktemp("staff-domain") / "domain.yml"
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def fake_api():
    """A fresh fake Telegram Bot API on 127.0.0.1 for one test."""
    from tests.telegram.fake_bot_api import FakeBotApi

    api = FakeBotApi().start()
    yield api
    api.stop()
