"""The participant's data through the REST channel: see it, delete it, and no trace is left
in any table of either database (SQLite and PostgreSQL)."""
import json
import time
import uuid

import pytest
from sqlalchemy import MetaData, select

from bot.app import build_services
from bot.rest_client import RestClient
from bot.store.db import make_engine
from bot.store.tracker import count_events, tracker_engine

pytestmark = pytest.mark.servers


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def servers(request):
    name = "rasa_servers" if request.param == "sqlite" else "rasa_servers_pg"
    return request.getfixturevalue(name)


def say(client, sender, text):
    replies = client.send(sender, text)
    assert replies, text
    return replies


def words(replies):
    return " ".join(r.get("text") or "" for r in replies)


def all_text(engine) -> str:
    """Every value of every row of every table, as one string."""
    meta = MetaData()
    meta.reflect(bind=engine)
    parts = []
    with engine.connect() as connection:
        for table in meta.sorted_tables:
            for row in connection.execute(select(table)):
                parts.append(json.dumps([str(v) for v in row]))
    return "\n".join(parts)


def answer(client, sender, text):
    """Answer, and say 'yes' if asked whether we understood the themes."""
    replies = say(client, sender, text)
    if "I think this is about" in words(replies):
        replies = replies + say(client, sender, "/affirm")
    return replies


def begin(client, sender):
    for text in ("hello", "/sound_off", "/affirm", "/role_self"):
        say(client, sender, text)


def test_what_do_you_know_about_me(servers):
    client, sender = RestClient(servers.rasa_url), "mydata-" + uuid.uuid4().hex[:8]
    begin(client, sender)
    answer(client, sender, "Swimming on Fridays")
    replies = say(client, sender, "what do you know about me")
    assert "We keep 1 of your answers" in words(replies)
    document = next(r["custom"]["document"] for r in replies if r.get("custom"))
    assert document["filename"] == "my-data.json"
    assert [a["text"] for a in document["data"]["answers"]] == ["Swimming on Fridays"]


def test_delete_my_answers_leaves_no_trace_in_either_database(servers):
    client = RestClient(servers.rasa_url)
    sender = "erase-" + uuid.uuid4().hex[:8]
    marker = "Zebrafinch" + uuid.uuid4().hex[:6]
    begin(client, sender)
    answer(client, sender, f"{marker} club on Mondays")
    say(client, sender, "/affirm")
    answer(client, sender, f"and {marker} cakes")
    assert "delete your answers" in words(say(client, sender, "/delete_my_data"))
    deleted = say(client, sender, "/affirm")
    assert "We have deleted" in words(deleted)
    # The sign for transports that show the chat so far (the web chat) to clear it.
    assert [r["custom"] for r in deleted if r.get("custom")] == [{"erased": True, "sound": False}]
    time.sleep(4)  # Rasa saves the turn after the action; the erasure runs again after it
    services = build_services(servers.settings)
    tracker = tracker_engine(servers.settings)
    store = make_engine(servers.settings.database_url)
    try:
        assert count_events(tracker, sender) == 0
        for engine in {str(store.url): store, str(tracker.url): tracker}.values():
            text = all_text(engine)
            assert marker not in text
            assert services.pseudonymizer.pseudonym(sender) not in text
        assert services.data_rights.record(sender) is None
    finally:
        store.dispose(), tracker.dispose(), services.engine.dispose()
    # The participant can start afresh afterwards.
    assert "read my messages out loud" in words(say(client, sender, "hello"))


@pytest.mark.parametrize("reply, deleted", [("Yes, delete them", True), ("keep them", False)])
def test_the_delete_buttons_titles_typed_work(rasa_servers, reply, deleted):
    client, sender = RestClient(rasa_servers.rasa_url), "typed-" + uuid.uuid4().hex[:8]
    begin(client, sender)
    answer(client, sender, "Swimming on Fridays")
    assert "delete your answers" in words(say(client, sender, "delete my answers"))
    replies = words(say(client, sender, reply))
    assert ("We have deleted" in replies) is deleted
    assert ("delete your answers" in replies) is False  # not asked again
    services = build_services(rasa_servers.settings)
    try:
        assert (services.data_rights.record(sender) is None) is deleted
    finally:
        services.engine.dispose()


def test_answers_under_a_safeguarding_flag_are_held_and_the_person_is_told(servers):
    client, sender = RestClient(servers.rasa_url), "held-" + uuid.uuid4().hex[:8]
    begin(client, sender)
    say(client, sender, "my support worker hits me when nobody is there")
    say(client, sender, "/affirm")
    answer(client, sender, "I like the bus")
    say(client, sender, "/delete_my_data")
    replies = say(client, sender, "/affirm")
    reply = words(replies)
    assert "We must keep one part of what you told us" in reply
    # The held answer stays for the lead, but the chat on screen is still cleared.
    assert "deleted this chat and the rest of your answers" in reply
    assert [r["custom"] for r in replies if r.get("custom")] == [{"erased": True, "sound": False}]
    services = build_services(servers.settings)
    try:
        record = services.data_rights.record(sender)
        assert [a["text"] for a in record["answers"]] == [
            "my support worker hits me when nobody is there"]
        assert record["consent"] == [] and record["participant"]["status"] == "erasure_held"
    finally:
        services.engine.dispose()


def test_withdrawing_consent_keeps_answers_and_asks_again_later(servers):
    client, sender = RestClient(servers.rasa_url), "withdraw-" + uuid.uuid4().hex[:8]
    begin(client, sender)
    answer(client, sender, "Quiet places")
    assert "not taking part now" in words(say(client, sender, "/withdraw_consent"))
    assert "Do you want to take part?" in words(say(client, sender, "hello"))
