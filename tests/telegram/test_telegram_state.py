"""The transport's own store: duplicate updates, spent keyboards, voice file ids, long payloads."""
import pytest

from bot.store.db import make_engine
from bot.telegram.state import TelegramState


@pytest.fixture
def state(database_url):
    engine = make_engine(database_url)
    state = TelegramState(engine)
    state.create_tables()
    state.create_tables()  # twice is harmless
    yield state
    engine.dispose()


def test_an_update_is_new_once(state):
    assert state.seen_update(42) is False
    assert state.seen_update(42) is True
    assert state.seen_update(43) is False


def test_a_keyboard_is_spent_once(state):
    assert state.spend_keyboard("abc") is False
    assert state.spend_keyboard("abc") is True


def test_file_ids_are_kept_replaced_and_forgotten(state):
    assert state.file_id("k") is None
    state.remember_file_id("k", "one")
    state.remember_file_id("k", "two")
    assert state.file_id("k") == "two"
    state.forget_file_id("k")
    assert state.file_id("k") is None


def test_long_payloads_are_kept_under_their_key(state):
    state.remember_payload("~abc", "/inform{}")
    state.remember_payload("~abc", "/inform{}")
    assert state.payload("~abc") == "/inform{}"
    assert state.payload("~nope") is None


def test_old_seen_records_can_be_pruned(state):
    state.seen_update(1)
    assert state.forget_seen_before(days=0) == 1
    assert state.seen_update(1) is False
