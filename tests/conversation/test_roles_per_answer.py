"""Each answer keeps the role it was given in: /mydata and the data file say every role used,
through the real actions and store, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import update

from actions import data_rights, questions, welcome
from bot.store.models import Answer
from tests.conftest import make_settings
from tests.conversation.conftest import NoThemes


@pytest.fixture
def settings(tmp_path, database_url):
    """This module's settings: the conversation fixtures run on SQLite and PostgreSQL here."""
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def app(make_app):
    """Real services on an empty, migrated database, installed for the actions."""
    return make_app(NoThemes)


def tracker(sender="carer", *, intent="share", text="hi", slots=None, message_id="m1"):
    """A tracker as the Rasa server would send it to the action server."""
    latest = {"intent": {"name": intent, "confidence": 0.99}, "text": text,
              "message_id": message_id, "metadata": {}, "entities": []}
    return Tracker(sender, slots or {}, latest, [], False, None, {}, "action_listen")


def run(action, tracker_):
    """Run an action; return its messages (as the collecting dispatcher kept them)."""
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker_, {}))
    return dispatcher.messages


def start(sender, role):
    """Agree to take part and choose a role (a carer also says the person agrees)."""
    run(welcome.ActionGiveConsent(), tracker(sender, intent="affirm"))
    run(welcome.ActionSetRole(), tracker(sender, intent=f"role_{role}"))
    if role == "on_behalf":
        run(welcome.ActionPersonAgrees(), tracker(sender, intent="affirm"))


def answer(sender, text, message_id):
    """Give one answer to the current question."""
    run(questions.ActionSaveAnswer(),
        tracker(sender, text=text, slots={"answer_text": text}, message_id=message_id))


def my_data(sender):
    """Ask "what do you keep about me?": (response name, count) pairs said, and the file."""
    messages = run(data_rights.ActionMyData(), tracker(sender, intent="my_data", text="/my_data"))
    said = [(m["response"], m.get("count")) for m in messages]
    document = next(m["custom"]["document"] for m in messages if m.get("custom"))
    return said, document["data"]


def test_a_carer_who_later_answers_for_themselves_is_shown_both_roles(app):
    start("carer", "on_behalf")
    answer("carer", "He likes the park", "m1")
    answer("carer", "He likes his tea hot", "m2")
    run(welcome.ActionSetRole(), tracker("carer", intent="role_self"))
    answer("carer", "I need a break sometimes", "m3")

    said, record = my_data("carer")
    assert said == [("utter_my_data_answers", "3"),
                    ("utter_my_data_answers_on_behalf", "2"),
                    ("utter_my_data_answers_self", "1"),
                    ("utter_my_data_file", None)]
    assert [(a["text"], a["role"]) for a in record["answers"]] == [
        ("He likes the park", "on_behalf"), ("He likes his tea hot", "on_behalf"),
        ("I need a break sometimes", "self")]
    assert record["participant"]["role"] == "self"  # the role they chose last
    assert record["participant"]["roles_used"] == [{"role": "on_behalf", "answers": 2},
                                                   {"role": "self", "answers": 1}]
    # The answers given for the person still say that the person agreed, though the carer's
    # own row no longer does (they answer for themselves now).
    assert record["participant"]["person_agrees"] is None
    assert [a.get("person_agrees", "-") for a in record["answers"]] == [True, True, "-"]


@pytest.mark.parametrize("role, response", [
    ("self", "utter_my_data_role_self"), ("on_behalf", "utter_my_data_role_on_behalf"),
    ("support_worker", "utter_my_data_role_support_worker")])
def test_one_role_keeps_its_one_line(app, role, response):
    start("one", role)
    answer("one", "The bus is late", "m1")
    answer("one", "More clubs please", "m2")
    said, record = my_data("one")
    assert said == [("utter_my_data_answers", "2"), (response, None), ("utter_my_data_file", None)]
    assert {a["role"] for a in record["answers"]} == {role}
    assert record["participant"]["roles_used"] == [{"role": role, "answers": 2}]


def test_answers_all_in_one_earlier_role_say_that_role(app):
    """The line is about the answers kept, not the role chosen since."""
    start("switched", "on_behalf")
    answer("switched", "She likes music", "m1")
    run(welcome.ActionSetRole(), tracker("switched", intent="role_support_worker"))
    said, record = my_data("switched")
    assert ("utter_my_data_role_on_behalf", None) in said
    assert record["participant"]["role"] == "support_worker"


def test_with_no_answers_the_chosen_role_is_said(app):
    start("new", "on_behalf")
    said, record = my_data("new")
    assert said == [("utter_my_data_no_answers", None), ("utter_my_data_role_on_behalf", None),
                    ("utter_my_data_file", None)]
    assert record["answers"] == [] and record["participant"]["roles_used"] == []


def test_older_answers_without_a_role_take_the_participants_role(app):
    """Answers stored before answers kept their role count as the participant's role."""
    start("old", "self")
    answer("old", "Quiet places", "m1")
    with app.sessions.begin() as session:
        session.execute(update(Answer).values(role=None))
    run(welcome.ActionSetRole(), tracker("old", intent="role_on_behalf"))
    run(welcome.ActionPersonAgrees(), tracker("old", intent="affirm"))
    answer("old", "He likes trains", "m2")
    said, record = my_data("old")
    assert [a["role"] for a in record["answers"]] == ["on_behalf", "on_behalf"]
    assert ("utter_my_data_role_on_behalf", None) in said
