"""Asking what happened to one's answers in one's own words ("what happend to my anwsers",
"what have you done about it", "any news?") gets the news wherever it is asked, whatever NLU
made of it, and is never stored as an answer; answers that mention news stay answers."""
import pytest
from sqlalchemy import func, select

from actions import control, questions, themes
from actions.news import asks_for_news
from bot.store.models import Answer, StaffAction
from tests.conversation.test_theme_check import answer, app, run, tracker  # noqa: F401

ASKING = ["what happend to my anwsers", "what have you done about it",
          "What happened to what I said?", "Please send me news when something changes",
          "news?", "Any news?", "whats happened to my answers", "is there any news yet",
          "did you do anything with what i said", "what did the council do with my answers"]
ANSWERS = ["Nobody tells me any news about my care", "I watch the news every day",
           "What gets in the way is nobody tells me what happened to my son",
           "what happened to my brother", "my news is that I got a job",
           "updates on the bus app help me",
           # a question that tells of harm is an answer, kept and screened
           "any news about the man who hurt me", "what have you done about it he still hits me"]


@pytest.mark.parametrize("text", ASKING)
def test_ways_of_asking_for_news(text):
    assert asks_for_news(text)


@pytest.mark.parametrize("text", ANSWERS)
def test_answers_that_mention_news_are_answers(text):
    assert not asks_for_news(text)


def stored(app):
    with app.sessions() as session:
        return session.execute(select(func.count()).select_from(Answer)).scalar()


def with_news(app):
    """One confirmed answer about being safe, and an action on that theme."""
    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    with app.sessions.begin() as session:
        session.add(StaffAction(theme_id="being_safe", text="We are training staff", status="doing"))


NEWS = ["utter_what_happened_one", "utter_what_happened_themes_one", "utter_update_item_doing"]


def test_at_a_question_the_news_comes_and_the_question_stays(app):
    with_news(app)
    dispatcher_said = []
    for text in ("what happend to my anwsers", "what have you done about it"):
        form = questions.ValidateAnswerForm()
        from rasa_sdk.executor import CollectingDispatcher

        dispatcher = CollectingDispatcher()
        result = form.validate_answer_text(text, dispatcher, tracker(text), {})
        assert result == {"answer_text": None}  # not an answer: the form asks again
        dispatcher_said.append([m.get("response") for m in dispatcher.messages])
        # the action's words end as a sentence, so "We are doing this now." starts a new one
        assert dispatcher.messages[-1]["action"] == "We are training staff."
    assert dispatcher_said == [NEWS, NEWS]
    assert stored(app) == 1


def test_after_add_anything_else_the_news_comes_and_the_question_again(app):
    with_news(app)
    said, slots, _ = run(questions.ActionSaveMore(),
                         tracker("Any news?", slots={"stage": "add_more"}))
    assert said == NEWS + ["utter_ask_add_more"] and slots == {"stage": "add_more"}
    assert stored(app) == 1


@pytest.mark.parametrize("stage", ["theme_check", "done", "add_more"])
def test_words_nlu_did_not_read_get_the_news_and_the_step_again(app, stage):
    """At the theme check, after the last question, or after "add anything else?": the news,
    then what the chat was waiting for; nothing stored, and the message forgotten."""
    with_news(app)
    _, slots, _ = answer(app, "A job with money", message_id="m2") if stage == "theme_check" \
        else (None, {"stage": stage}, None)
    said, _, dispatcher = run(control.ActionKindFallback(),
                              tracker("what have you done about it", intent="nlu_fallback",
                                      slots=slots, message_id="m3"))
    assert said[:3] == (["utter_what_happened", "utter_what_happened_themes",
                         "utter_update_item_doing"] if stage == "theme_check" else NEWS)
    assert len(said) > 3 or stage == "done"  # then the step again (at the end: nothing to ask)
    assert stored(app) == (2 if stage == "theme_check" else 1)
