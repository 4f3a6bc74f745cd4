"""Store tests on SQLite and PostgreSQL: idempotent answers, verbatim text, counts, erasure."""
import pytest
from sqlalchemy import select

from bot.store import queries
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Answer, Consent, Contact, Participant

ODD_ANSWERS = [
    "😀🙂👍",
    "x" * 5000,
    "<script>alert('hi')</script> **bold** _it_",
    "'; DROP TABLE answers; --",
    "Je voudrais un travail et des amis.",
    "  leading and trailing spaces  ",
    "line one\nline two\r\n\ttabbed",
]


@pytest.fixture
def sessions(database_url):
    """A migrated database and its session factory."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def participant(session, pseudonym="p1"):
    return queries.get_or_create_participant(session, pseudonym=pseudonym,
                                             engagement_id="e1", channel="rest")


def test_same_message_is_stored_once(sessions):
    with sessions.begin() as session:
        person = participant(session)
        first, created = queries.save_answer(session, participant=person, question_id="q1",
                                             text="my friends", channel="rest",
                                             channel_message_id="m-1")
        again, created_again = queries.save_answer(session, participant=person, question_id="q1",
                                                   text="my friends", channel="rest",
                                                   channel_message_id="m-1")
    assert created and not created_again and first.id == again.id
    with sessions() as session:
        assert queries.count_answers(session) == 1


def test_duplicate_message_in_a_second_transaction_is_not_stored(sessions):
    for _ in range(2):
        with sessions.begin() as session:
            queries.save_answer(session, participant=participant(session), question_id="q1",
                                text="twice?", channel="telegram", channel_message_id="tg-9")
    with sessions() as session:
        assert queries.count_answers(session) == 1


def test_other_words_under_a_used_message_id_are_kept_once_too(sessions):
    long_id = "m-" + "9" * 200  # longer than the column: the derived id still fits
    for message_id, question_id in (("m-1", "q1"), (long_id[:128], "q2")):
        for _ in range(2):  # each delivered twice
            for text in ("my friends", "and music on Fridays"):
                with sessions.begin() as session:
                    queries.save_answer(session, participant=participant(session),
                                        question_id=question_id, text=text, channel="rest",
                                        channel_message_id=message_id)
    with sessions() as session:
        rows = session.execute(select(Answer.text, Answer.channel_message_id)
                               .order_by(Answer.id)).all()
    derived = queries.reused_message_id("m-1", "and music on Fridays")
    assert [tuple(row) for row in rows[:2]] == [("my friends", "m-1"), ("and music on Fridays", derived)]
    assert [row.text for row in rows[2:]] == ["my friends", "and music on Fridays"]
    assert all(len(row.channel_message_id) <= 128 for row in rows)


def test_the_same_words_sent_again_to_the_same_question_are_stored_once(sessions):
    def save(text, message_id, question_id="q1"):
        with sessions.begin() as session:
            answer, created = queries.save_answer(
                session, participant=participant(session), question_id=question_id, text=text,
                channel="rest", channel_message_id=message_id)
            return answer.id, created

    first = save("I like my garden", "m-1")
    assert first[1]
    # Sent again (a new message), even with other spaces, capitals or a full stop: the same answer.
    assert save("I like my garden", "m-2") == (first[0], False)
    assert save("  i like  my GARDEN. ", "m-3") == (first[0], False)
    # Other words, or the same words to another question, are answers of their own.
    assert save("I like my garden and my cat", "m-4")[1]
    assert save("I like my garden", "m-5", question_id="q2")[1]
    # So are the same words in another role (a carer who then answers for themselves).
    with sessions.begin() as session:
        participant(session).role = "on_behalf"
    assert save("I like my garden", "m-6")[1]
    assert save("I like my garden", "m-7") == (save("I like my garden", "m-6")[0], False)
    with sessions() as session:
        assert [tuple(row) for row in session.execute(
            select(Answer.role, Answer.question_id).order_by(Answer.id))] == \
            [(None, "q1"), (None, "q1"), (None, "q2"), ("on_behalf", "q1")]


@pytest.mark.parametrize("text", ODD_ANSWERS)
def test_answers_are_kept_word_for_word(sessions, text):
    with sessions.begin() as session:
        queries.save_answer(session, participant=participant(session), question_id="q1",
                            text=text, channel="rest", channel_message_id="m-odd")
    with sessions() as session:
        assert session.execute(select(Answer.text)).scalar_one() == text


def test_participant_is_created_once(sessions):
    with sessions.begin() as session:
        a = participant(session, "same")
        b = participant(session, "same")
    assert a.id == b.id


def test_counter_counts_without_personal_data(sessions):
    for _ in range(3):
        with sessions.begin() as session:
            queries.increment_counter(session, engagement_id="e1", name="consent_declined")
    with sessions() as session:
        assert queries.get_counter(session, engagement_id="e1", name="consent_declined") == 3
        assert session.execute(select(Participant)).first() is None


def test_deleting_a_participant_removes_answers_consent_and_contact(sessions):
    with sessions.begin() as session:
        person = participant(session)
        queries.record_consent(session, participant=person, version="v1", agreed=True)
        queries.set_contact(session, participant=person, channel="telegram", address="123")
        queries.save_answer(session, participant=person, question_id="q1", text="words",
                            channel="rest", channel_message_id="m-1")
    with sessions.begin() as session:
        session.delete(queries.get_participant(session, pseudonym="p1"))
    with sessions() as session:
        for model in (Answer, Consent, Contact, Participant):
            assert session.execute(select(model)).first() is None


def test_latest_consent_is_the_newest(sessions):
    with sessions.begin() as session:
        person = participant(session)
        queries.record_consent(session, participant=person, version="v1", agreed=True)
        queries.record_consent(session, participant=person, version="v2", agreed=False)
    with sessions() as session:
        latest = queries.latest_consent(session, participant=participant(session))
        assert (latest.version, latest.agreed) == ("v2", False)


def test_the_sqlite_tracker_store_is_prepared_in_wal_mode(tmp_path):
    import sqlite3

    from bot.servers import tracker_store_config
    from bot.store.tracker import prepare_tracker_store
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    prepare_tracker_store(settings)
    with sqlite3.connect(tracker_store_config(settings)["db"]) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _bytes_on_disk(folder, suffixes=("coproduce.db",)):
    """Everything in the database files (the file, its WAL and shared memory) as bytes."""
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir())
                    if path.name.startswith(suffixes))


def test_erased_words_leave_no_copy_in_the_sqlite_files(tmp_path):
    from bot.app import build_services
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    upgrade(settings.database_url)
    services = build_services(settings)
    talk = services.conversation
    talk.give_consent("tg-zed", channel="rest")
    talk.set_role("tg-zed", "self")
    secret = "my neighbour Bartholomew Quince-Featherstonehaugh grows marrows. " * 80  # overflow pages
    talk.save_answer("tg-zed", text=secret, channel="rest", message_id="m1")
    talk.give_consent("tg-amy", channel="rest")
    talk.set_role("tg-amy", "self")
    talk.save_answer("tg-amy", text="I like the Featherstonehaugh library", channel="rest",
                     message_id="m2")
    assert b"Quince" in _bytes_on_disk(tmp_path)
    services.data_rights.erase("tg-zed", background=False)
    on_disk = _bytes_on_disk(tmp_path)
    assert b"Quince" not in on_disk and b"marrows" not in on_disk
    assert b"I like the Featherstonehaugh library" in on_disk  # the others' words stay
    services.engine.dispose()


def test_a_deleted_conversation_leaves_no_copy_in_the_sqlite_tracker_store(tmp_path):
    from sqlalchemy import text

    from bot.store.tracker import delete_conversation

    path = tmp_path / "tracker.db"
    engine = make_engine(f"sqlite:///{path}")  # WAL mode, as the tracker store is prepared
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                                "type_name TEXT, timestamp REAL, data TEXT)"))
        for sender, words in (("zed", "Quince grows marrows"), ("amy", "library books")):
            connection.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                                    "VALUES (:s, 'user', 0, :d)"), {"s": sender, "d": words * 400})
    assert b"marrows" in _bytes_on_disk(tmp_path, ("tracker.db",))
    assert delete_conversation(engine, "zed") == 1
    on_disk = _bytes_on_disk(tmp_path, ("tracker.db",))
    assert b"marrows" not in on_disk and b"library books" in on_disk
    engine.dispose()


def test_control_characters_are_dropped_so_postgresql_keeps_the_answer(tmp_path, database_url):
    """A NUL inside a message made PostgreSQL refuse the answer, and the action fail."""
    from bot.app import build_services
    from bot.store.models import Answer
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url=database_url)
    upgrade(settings.database_url)
    services = build_services(settings)
    talk = services.conversation
    talk.give_consent("tg-nul", channel="rest")
    talk.set_role("tg-nul", "self")
    result = talk.save_answer("tg-nul", text="Quiet places\x00 and his dog 🐶\x07\n", channel="rest",
                              message_id="m1")
    assert result.created
    with services.sessions() as session:
        assert [answer.text for answer in session.query(Answer)] == ["Quiet places and his dog 🐶\n"]
    services.engine.dispose()


def test_replies_to_a_message_are_read_back_as_rasas_rest_channel_sent_them(tmp_path,
                                                                           database_url):
    """What Rasa answered to one message, from Rasa's own SQLTrackerStore, is exactly what its
    REST channel sent (so a Telegram transport killed before sending can send it after all)."""
    import asyncio
    import uuid

    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.servers import tracker_store_config
    from bot.store.tracker import TrackerReader
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url=database_url)
    config = tracker_store_config(settings)
    store = SQLTrackerStore(domain=Domain.empty(), dialect=config["dialect"], host=config.get("url"),
                            port=config.get("port"), db=config["db"], username=config.get("username"),
                            password=config.get("password"))
    sender = "replies-" + uuid.uuid4().hex[:8]
    turns = {
        "m1": [BotUttered("Hello!\n\nDo you want to take part?", {"buttons": [
            {"title": "Yes", "payload": "/affirm"}]})],
        "m2": [BotUttered("Thank you. You said: Friends"),
               BotUttered("Here is all we keep about you, in a file.", {"custom": {
                   "document": {"filename": "my-data.json", "data": {"a": 1}}}}),
               BotUttered(None, {"custom": {"keep_contact": True}})],
        "m3": [],
    }
    tracker = DialogueStateTracker(sender, [])
    for message_id, said in turns.items():
        tracker.update(UserUttered(f"words {message_id}", intent={"name": "share"},
                                   metadata={"message_id": message_id}))
        for bot in said:
            tracker.update(ActionExecuted("utter_x"))
            tracker.update(bot)
        tracker.update(SlotSet("stage", "question"))
        tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))

    async def sent(said):
        output = CollectingOutputChannel()
        for bot in said:
            await output.send_response(sender, bot.message())
        return [{key: value for key, value in message.items() if key != "recipient_id"}
                for message in output.messages]

    reader = TrackerReader(settings)
    try:
        for message_id, said in turns.items():
            assert reader.replies_to(sender, message_id) == asyncio.run(sent(said)), message_id
        assert reader.replies_to(sender, "never-sent") is None
        assert reader.replies_to("someone-else", "m1") is None
    finally:
        reader.close()
        store.engine.dispose()


def test_an_unreadable_tracker_store_means_not_answered_before(tmp_path, caplog):
    from bot.store.tracker import TrackerReader
    from tests.conftest import make_settings

    reader = TrackerReader(make_settings(tmp_path))  # no events table: Rasa never ran
    for message_id in ("m1", "m2", "m3"):  # as when many messages are resumed at a start
        assert reader.replies_to("anyone", message_id) is None
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "goes to Rasa again" in warnings[0].getMessage()
    reader.close()


def test_after_an_erasure_only_what_rasa_wrote_back_goes_not_a_conversation_begun_since(
        tmp_path, database_url):
    """Rasa saves the erasure's turn after the action erased the conversation, writing back all
    it still held: that goes again, up to the end of that turn. A conversation begun straight
    after (its session start and first words) is kept; a second pass deletes nothing more."""
    import asyncio
    import uuid

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (ActionExecuted, BotUttered, SessionStarted, SlotSet,
                                         UserUttered)
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.servers import tracker_store_config
    from bot.store.tracker import count_events, delete_written_back, recent_messages
    from tests.conftest import make_settings

    config = tracker_store_config(make_settings(tmp_path, database_url=database_url))
    store = SQLTrackerStore(domain=Domain.empty(), dialect=config["dialect"], host=config.get("url"),
                            port=config.get("port"), db=config["db"], username=config.get("username"),
                            password=config.get("password"))
    engine = store.engine
    sender, other = "erased-" + uuid.uuid4().hex[:8], "other-" + uuid.uuid4().hex[:8]

    def written_back(tracker):
        for event in (ActionExecuted("action_session_start"), SessionStarted(),
                      ActionExecuted("action_listen"), UserUttered("My secret words"),
                      ActionExecuted("utter_x"), BotUttered("Thank you. You said: My secret words"),
                      ActionExecuted("action_listen"), UserUttered("/delete_yes"),
                      ActionExecuted("action_delete_my_data"),
                      BotUttered("We have deleted your answers.", {"custom": {"erased": True}}),
                      SlotSet("stage", "deleted"), ActionExecuted("action_listen")):
            tracker.update(event)

    try:
        nothing_after = DialogueStateTracker(other, [])
        written_back(nothing_after)
        asyncio.run(store.save(nothing_after))
        assert delete_written_back(engine, other) == 12
        assert count_events(engine, other) == 0

        tracker = DialogueStateTracker(sender, [])
        written_back(tracker)
        for event in (ActionExecuted("action_session_start"), SessionStarted(),
                      ActionExecuted("action_listen"), UserUttered("hello"),
                      ActionExecuted("utter_x"), BotUttered("Hello again!")):
            tracker.update(event)
        asyncio.run(store.save(tracker))
        assert delete_written_back(engine, sender) == 12
        assert [event.get("text") for event in recent_messages(engine, sender, limit=10)] == [
            "hello", "Hello again!"]
        assert count_events(engine, sender) == 6  # the new session's start is kept
        assert delete_written_back(engine, sender) == 0
    finally:
        engine.dispose()
