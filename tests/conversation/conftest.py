"""Fixtures for the action tests: real services on a scratch database, installed for the
action server's code, with a chosen theme tagger."""
from typing import Dict, List, NamedTuple

import pytest

from bot.app import build_services, use_services
from bot.store.migrate import upgrade
from bot.tagging import TaggingService


class Tags(NamedTuple):
    themes: List[str]
    scores: Dict[str, float]


# What an answer the tagger finds no theme in gets after "Thank you. You said: ...": the
# participant is asked to pick its themes.
PICK_THEMES = ["utter_themes_not_found", "utter_pick_themes", "utter_pick_themes_done"]


class NoThemes:
    """A tagger that never finds a theme, for tests about other steps."""

    def tag(self, texts):
        return [Tags([], {}) for _ in texts]


class KeywordTagger:
    """A small, fixed tagger so theme tests do not depend on the trained model's choices."""

    WORDS = {"safe": "being_safe", "job": "security", "money": "security", "staff": "skilled_supporters"}
    # As a trained tagger does, every theme gets a score: 0.9 for a theme found, else 0.1.
    THEMES = ("access_to_diagnosis", "right_care_support", "security", "skilled_supporters",
              "accepted_valued", "being_safe", "purpose")

    def tag(self, texts):
        results = []
        for text in texts:
            found = [t for word, t in self.WORDS.items() if word in text.lower()]
            results.append(Tags(list(dict.fromkeys(found)),
                                {t: 0.9 if t in found else 0.1 for t in self.THEMES}))
        return results


@pytest.fixture
def make_app(settings):
    """Build the services with this tagger and install them for the actions."""
    built = []

    def make(tagger=NoThemes):
        upgrade(settings.database_url)
        services = build_services(settings)
        services.tagging = TaggingService(services.sessions, services.engagement, tagger)
        use_services(services)
        built.append(services)
        return services

    yield make
    use_services(None)
    for services in built:
        services.engine.dispose()


@pytest.fixture
def app(make_app):
    """Services whose tagger finds no themes."""
    return make_app(NoThemes)
