"""The write-ahead of messages for Rasa: kept in order, a commit shared by messages that arrive
together, deleted once answered, and written again after a failed commit."""
import asyncio
import time

import pytest

from bot.store.db import make_engine
from bot.telegram.kept import KeptMessages
from bot.telegram.relay import Incoming
from bot.telegram.state import TelegramState


class CountingState(TelegramState):
    """The real store, counting its commits; it can be slow, or fail a number of times."""

    def __init__(self, engine, delay: float = 0.0, failures: int = 0):
        super().__init__(engine, bot_id="123")
        self.commits = 0
        self.delay = delay
        self.failures = failures

    def change_waiting(self, *, keep=(), forget=(), delivered=None):
        time.sleep(self.delay)
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.commits += 1
        super().change_waiting(keep=keep, forget=forget, delivered=delivered)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    TelegramState(engine).create_tables()
    yield engine
    engine.dispose()


def _message(message_id, text="words", chat_id=5):
    return Incoming(chat_id=chat_id, sender="tg-sam", message_id=message_id, text=text)


def _kept(state):
    return [(row.message_id, row.chat_id) for row in state.waiting()]


def test_messages_that_come_together_share_a_commit_in_order(engine):
    state = CountingState(engine, delay=0.2)
    kept = KeptMessages(state)
    m1, m2, m3, m4, m5 = (_message(f"m{n}", chat_id=5 + n % 2) for n in range(1, 6))

    async def run():
        kept.keep([m1])
        kept.keep([m2, m3])
        kept.keep([m1])  # once only
        await kept.written([m1, m2, m3])
        assert state.commits == 1
        kept.keep([m4])
        await asyncio.sleep(0.05)  # m4's commit is under way: m5 waits for the next one
        kept.keep([m5])
        await kept.written([m4, m5])
        assert state.commits == 3

    asyncio.run(run())
    assert _kept(state) == [("m1", 6), ("m2", 5), ("m3", 6), ("m4", 5), ("m5", 6)]


def test_answered_messages_are_deleted_after_their_write(engine):
    state = CountingState(engine, delay=0.2)
    kept = KeptMessages(state)
    m1, m2, m3 = _message("m1"), _message("m2"), _message("m3")

    async def run():
        kept.keep([m1, m2])
        await kept.forget([m1])  # answered before its write ended: the row must not stay
        assert _kept(state) == [("m2", 5)]
        kept.keep([m3])
        await kept.forget([m2], wait=False)  # goes in the same commit as m3's write
        await kept.flush()
        assert state.commits == 3 and kept.kept_ids() == {"m3"}

    asyncio.run(run())
    assert _kept(state) == [("m3", 5)]


def test_a_failed_write_is_tried_again_on_the_next_keep(engine, caplog):
    state = CountingState(engine, failures=1)
    kept = KeptMessages(state)
    m1 = _message("m1", text="my address is 1 High Street")

    async def run():
        kept.keep([m1])
        await kept.written([m1])
        assert _kept(state) == [] and kept.kept_ids() == set()
        kept.keep([m1])
        await kept.written([m1])

    asyncio.run(run())
    assert _kept(state) == [("m1", 5)]
    assert "Could not keep 1 message(s)" in caplog.text and "High Street" not in caplog.text


def test_without_a_store_nothing_is_kept():
    kept = KeptMessages(None)

    async def run():
        kept.keep([_message("m1")])
        await kept.written([_message("m1")])
        await kept.forget([_message("m1")])
        await kept.flush()

    asyncio.run(run())
    assert kept.kept_ids() == set()


def test_the_reply_messages_shown_are_counted_for_a_restart(engine):
    state = CountingState(engine, delay=0.1)
    kept = KeptMessages(state)
    m1, m2 = _message("m1"), _message("m2")

    async def run():
        kept.keep([m1])
        kept.delivered(m1, 1)  # in the same commit as its write
        await kept.flush()
        kept.delivered(m1, 2)
        kept.delivered(m1, 3)  # the latest count wins
        kept.delivered(m2, 1)  # not kept: nothing to count
        await kept.flush()

    asyncio.run(run())
    assert [(row.message_id, row.delivered) for row in state.waiting()] == [("m1", 3)]
    assert state.commits == 2
