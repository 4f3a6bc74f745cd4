"""Shared fixtures for the safeguarding tests."""
import pytest

from bot.safeguarding import get_detector


@pytest.fixture(scope="session")
def detector():
    """The default detector, with its model trained once for the whole session."""
    found = get_detector()
    found.model()
    return found
