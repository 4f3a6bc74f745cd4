"""The transport's own store: duplicate updates, used keyboards, voice file ids, long payloads."""
import asyncio

import pytest

from bot.store.db import make_engine
from bot.telegram.seen import SeenGuard
from bot.telegram.state import TelegramState


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def state(engine):
    state = TelegramState(engine, bot_id="123")
    state.create_tables()
    state.create_tables()  # twice is harmless
    return state


def test_an_update_is_new_once(state):
    assert state.last_update_id() is None
    assert state.seen_update(42) is False
    assert state.seen_update(42) is True
    assert state.was_update_seen(42) and not state.was_update_seen(43)
    assert state.seen_update(43) is False
    assert state.last_update_id() == 43


def test_a_keyboard_is_spent_once(state):
    assert state.was_keyboard_spent("abc") is False
    assert state.spend_keyboard("abc") is False
    assert state.spend_keyboard("abc") is True
    assert state.was_keyboard_spent("abc") is True


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


def test_keys_belong_to_one_bot(state, engine):
    other = TelegramState(engine, bot_id="999")
    state.seen_update(7)
    state.spend_keyboard("k")
    state.remember_file_id("audio", "file-of-this-bot")
    assert other.seen_update(7) is False
    assert other.spend_keyboard("k") is False
    assert other.file_id("audio") is None


def test_old_records_can_be_pruned(state):
    state.seen_update(1)
    state.spend_keyboard("k")
    assert state.forget_seen_before(days=0) == 2
    assert state.seen_update(1) is False


def test_many_records_go_in_one_commit_and_repeats_are_skipped(state):
    state.seen_update(1)
    state.record_seen([1, 2, 3], ["a", "b"])
    state.record_seen([3], ["b"])
    assert [state.was_update_seen(n) for n in (1, 2, 3, 4)] == [True, True, True, False]
    assert state.was_keyboard_spent("a") and state.was_keyboard_spent("b")


def _guard(state):
    return SeenGuard(state, lambda job, what: asyncio.ensure_future(job), write_after=0.01)


def test_the_guard_remembers_across_a_restart(state, engine):
    async def run(guard, *update_ids):
        results = [await guard.new_update(u) for u in update_ids]
        await guard.close()
        return results

    assert asyncio.run(run(_guard(state), 10, 11, 10)) == [True, True, False]
    restarted = _guard(TelegramState(engine, bot_id="123"))
    assert asyncio.run(run(restarted, 11, 12, 5)) == [False, True, True]
    assert state.was_update_seen(12) and state.was_update_seen(5)


def test_the_guard_takes_a_keyboard_once(state):
    async def run():
        guard = _guard(state)
        first = await guard.fresh_keyboard("kb", sent_here=True)
        again = await guard.fresh_keyboard("kb", sent_here=True)
        await asyncio.sleep(0.1)  # the write happens a moment later, by itself
        after_restart = await _guard(state).fresh_keyboard("kb", sent_here=False)
        return first, again, after_restart

    assert asyncio.run(run()) == (True, False, False)


def _message(message_id, text, chat_id=5, sender="tg-sam"):
    from bot.telegram.relay import Incoming

    return Incoming(chat_id=chat_id, sender=sender, message_id=message_id, text=text,
                    language="en-GB")


def test_waiting_messages_are_kept_in_order_once_and_forgotten(state, engine):
    state.keep_waiting([_message("m1", "first"), _message("m2", "second 🙂")])
    state.keep_waiting([_message("m1", "first"), _message("m3", "third", chat_id=6)])  # m1 again
    kept = state.waiting()
    assert [(w.message_id, w.text, w.chat_id) for w in kept] == [
        ("m1", "first", 5), ("m2", "second 🙂", 5), ("m3", "third", 6)]
    assert kept[0].sender == "tg-sam" and kept[0].language == "en-GB"
    assert kept[0].kept_at.tzinfo is not None
    assert TelegramState(engine, bot_id="999").waiting() == []  # another bot's messages
    state.forget_waiting(["m1", "m3"])
    state.forget_waiting([])
    assert [w.message_id for w in state.waiting()] == ["m2"]


def test_erasure_deletes_the_words_kept_for_rasa(tmp_path):
    from bot.app import build_services
    from bot.store.migrate import upgrade
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    upgrade(settings.database_url)
    services = build_services(settings)
    state = TelegramState(services.engine, bot_id="123")
    state.keep_waiting([_message("m1", "my address is 1 High Street", sender="tg-carol"),
                        _message("m2", "hello", chat_id=6, sender="tg-dan")])
    services.data_rights.erase("tg-carol", background=False)
    assert [w.sender for w in state.waiting()] == ["tg-dan"]
    services.engine.dispose()


def test_messages_are_kept_and_forgotten_in_one_commit(state):
    state.keep_waiting([_message("m1", "first")])
    state.change_waiting(keep=[_message("m2", "second"), _message("m1", "first")], forget=["m1"])
    state.change_waiting()
    assert [w.message_id for w in state.waiting()] == ["m2"]
