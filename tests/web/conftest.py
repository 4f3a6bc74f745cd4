"""Fixtures for the web chat: the app served over real HTTP on a free port, a fake Rasa at the
network edge, a refused connection, and the page's words from domain.yml."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, List

import pytest
import yaml

from bot.app import build_services
from bot.wording import load_responses
from bot.web import build_web_app
from tests.conftest import free_port, make_settings
from web_support import DOMAIN, PROPOSED_WORDS, FakeRasa, FakeSpeech, ServedApp


@pytest.fixture(scope="session")
def domain_path(tmp_path_factory) -> Path:
    """domain.yml, or a copy with the web page's proposed words while it lacks them."""
    responses = load_responses(DOMAIN)
    missing = {name: text for name, text in PROPOSED_WORDS.items() if name not in responses}
    if not missing:
        return DOMAIN
    data = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    data["responses"].update({name: [{"text": text}] for name, text in missing.items()})
    path = tmp_path_factory.mktemp("domain") / "domain.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def words(domain_path) -> dict:
    """The page's words by field name, as the app reads them."""
    from bot.web.words import load_page_words

    return dataclasses.asdict(load_page_words(domain_path))


@pytest.fixture
def fake_rasa():
    """A fake Rasa REST channel on a free port."""
    rasa = FakeRasa()
    served = ServedApp(rasa.app()).start()
    rasa.url = served.url
    yield rasa
    served.stop()


@pytest.fixture
def serve_web(tmp_path, domain_path) -> Callable[..., ServedApp]:
    """Serve the web chat talking to a given Rasa URL; keyword overrides go to settings."""
    started: List[ServedApp] = []

    def serve(rasa_url: str, *, speech=None, **overrides) -> ServedApp:
        settings = make_settings(tmp_path, rasa_url=rasa_url, **overrides)
        app = build_web_app(settings, build_services(settings),
                            speech or FakeSpeech(tmp_path), domain_path=domain_path)
        served = ServedApp(app).start()
        served.settings = settings
        started.append(served)
        return served

    yield serve
    for served in started:
        served.stop()


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: Rasa is resting."""
    return f"http://127.0.0.1:{free_port()}"
