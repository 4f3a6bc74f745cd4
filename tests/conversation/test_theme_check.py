"""Checking an answer's themes with the participant: confirm, correct, not sure; a person's
tags survive re-tagging."""
import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import questions, themes, welcome
from tests.conversation.conftest import KeywordTagger


@pytest.fixture
def app(make_app):
    """Services whose tagger finds themes by a few fixed words."""
    return make_app(KeywordTagger)


def tracker(text="", *, intent="share", slots=None, message_id="m1", entities=None, events=None):
    latest = {"intent": {"name": intent, "confidence": 0.99}, "text": text,
              "message_id": message_id, "metadata": {}, "entities": entities or []}
    return Tracker("s1", slots or {}, latest, events or [], False, None, {}, "action_listen")


def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return [m.get("response") for m in dispatcher.messages], slots, dispatcher


def answer(app, text, message_id="m1"):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    return run(questions.ActionSaveAnswer(), tracker(text, slots={"answer_text": text},
                                                     message_id=message_id))


def tags(app, answer_id):
    from bot.store import theme_queries

    with app.sessions() as session:
        return sorted((t.theme_id, t.source) for t in theme_queries.tags_of(session, answer_id=answer_id))


def test_the_participant_is_asked_if_we_understood(app):
    said, slots, dispatcher = answer(app, "A job with money and staff who are kind")
    assert said == ["utter_reflect", "utter_check_themes"]
    assert "Money, jobs and a home" in dispatcher.messages[1]["themes"]
    assert slots["stage"] == "theme_check"
    assert tags(app, slots["checking_answer"]) == [("security", "auto"), ("skilled_supporters", "auto")]


def test_yes_makes_the_themes_the_participants(app):
    _, slots, _ = answer(app, "I want to feel safe")
    said, after, _ = run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    assert said == ["utter_thanks_for_checking", "utter_ask_add_more"] and after["stage"] == "add_more"
    assert tags(app, slots["checking_answer"]) == [("being_safe", "participant")]


def test_not_sure_keeps_the_tagger_s_themes(app):
    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionKeepThemes(), tracker(intent="dont_know", slots=slots))
    assert tags(app, slots["checking_answer"]) == [("being_safe", "auto")]


def test_no_lets_the_participant_pick_themes_or_none(app):
    _, slots, _ = answer(app, "I want to feel safe")
    said, picking, dispatcher = run(themes.ActionOfferThemes(), tracker(intent="deny", slots=slots))
    assert said == ["utter_pick_themes", "utter_pick_themes_done"]
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert len(payloads) == len(app.engagement.themes)
    assert all(len(p.encode()) <= 64 for p in payloads)  # fits Telegram's callback data
    state = {**slots, **picking}
    for number, theme in enumerate(("purpose", "accepted_valued", "purpose")):
        said, update, shown = run(themes.ActionPickTheme(), tracker(
            f'/choose_theme{{"theme":"{theme}"}}', intent="choose_theme", slots=state,
            entities=[{"entity": "theme", "value": theme}]))
        state.update(update)
        # The buttons come again (a pressed keyboard goes away): the themes not picked yet,
        # then "That is all" (in the domain's response; "None of these" only before a pick,
        # as it would throw the picks away). Typing is never the only way on.
        offered = [button["payload"] for message in shown.messages
                   for button in message.get("buttons", [])]
        assert not any(f'"{picked}"' in payload for picked in state["picked_themes"]
                       for payload in offered)
        assert len(offered) == len(app.engagement.themes) - len(state["picked_themes"])
        added = "utter_theme_picked_already" if number == 2 else "utter_theme_added"
        assert said == [added, "utter_pick_more_themes", "utter_pick_themes_done_picked"]
    assert state["picked_themes"] == ["purpose", "accepted_valued"]
    run(themes.ActionFinishPicking(), tracker(intent="themes_done", slots=state))
    assert tags(app, slots["checking_answer"]) == [("accepted_valued", "participant"),
                                                   ("purpose", "participant")]
    # Each keeps the tagger's score beside the person's choice.
    from bot.store import theme_queries

    with app.sessions() as session:
        stored = theme_queries.tags_of(session, answer_id=slots["checking_answer"])
        scores = app.tagging.tagger().tag(["I want to feel safe"])[0].scores
        assert {tag.theme_id: tag.score for tag in stored} == pytest.approx(
            {"accepted_valued": scores["accepted_valued"], "purpose": scores["purpose"]})


def test_a_theme_the_engagement_does_not_have_gets_a_word_and_the_buttons(app):
    _, slots, _ = answer(app, "I want to feel safe")
    state = {**slots, "stage": "theme_pick", "picked_themes": ["purpose"]}
    said, after, shown = run(themes.ActionPickTheme(), tracker(
        '/choose_theme{"theme":"nosuch"}', intent="choose_theme", slots=state,
        entities=[{"entity": "theme", "value": "nosuch"}]))
    assert said == ["utter_press_a_theme", "utter_pick_more_themes", "utter_pick_themes_done_picked"]
    assert after == {}  # what was picked stays picked
    assert len(shown.messages[1]["buttons"]) == len(app.engagement.themes) - 1


def test_a_typed_no_before_any_pick_shows_the_buttons_again(app):
    _, slots, _ = answer(app, "I want to feel safe")
    _, picking, _ = run(themes.ActionOfferThemes(), tracker(intent="deny", slots=slots))
    state = {**slots, **picking}
    said, after, shown = run(themes.ActionFinishPicking(), tracker("no", intent="deny", slots=state))
    assert said == ["utter_press_a_theme", "utter_pick_themes", "utter_pick_themes_done"]
    assert "stage" not in after  # still picking; nothing was chosen for them
    # "That is all" with nothing picked is not "None of these" either.
    said, after, _ = run(themes.ActionFinishPicking(),
                         tracker("/themes_done", intent="themes_done", slots=state))
    assert said == ["utter_none_picked_yet", "utter_pick_themes", "utter_pick_themes_done"]
    assert "stage" not in after
    assert len(shown.messages[1]["buttons"]) == len(app.engagement.themes)
    assert tags(app, slots["checking_answer"]) == [("being_safe", "auto")]
    # After a pick, "no" (no more) keeps what was picked.
    state.update(picked_themes=["purpose"])
    said, after, _ = run(themes.ActionFinishPicking(), tracker("no", intent="deny", slots=state))
    assert after["stage"] == "add_more"
    assert tags(app, slots["checking_answer"]) == [("purpose", "participant")]


def test_a_person_s_tags_survive_retagging(app):
    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    _, other, _ = answer(app, "a job", message_id="m2")
    app.tagging._tagger = KeywordTagger()
    app.tagging._tagger.WORDS = {"safe": "purpose", "job": "purpose"}
    assert app.tagging.retag_all() == 1
    assert tags(app, slots["checking_answer"]) == [("being_safe", "participant")]
    assert tags(app, other["checking_answer"]) == [("purpose", "auto")]
    assert app.tagging.confirmed_examples() == [("I want to feel safe", ["being_safe"])]


def test_none_of_these_survives_retagging_and_is_learned_from(app):
    # "None of these" leaves no tag behind: the answer itself remembers that a person chose.
    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionFinishPicking(), tracker(intent="no_theme", slots=slots))
    assert tags(app, slots["checking_answer"]) == []
    assert app.tagging.retag_all() == 0
    app.tagging.tag_answer(slots["checking_answer"])  # as after `coproduce themes train`
    assert tags(app, slots["checking_answer"]) == []
    assert app.tagging.confirmed_examples() == [("I want to feel safe", [])]
    from bot.store import staff_queries
    from bot.staff.exports import themes_cell

    with app.sessions() as session:
        [row] = [r for batch in staff_queries.export_batches(
            session, answer_filter=staff_queries.AnswerFilter()) for r in batch]
    assert row.themes_set_by == "participant" and themes_cell(row) == "none (participant)"


def test_an_answer_without_themes_is_given_to_the_participant_to_tag(app):
    said, slots, dispatcher = answer(app, "blue")
    assert said == ["utter_reflect", "utter_themes_not_found", "utter_pick_themes",
                    "utter_pick_themes_done"]
    assert slots["stage"] == "theme_pick" and slots["picked_themes"] == []
    assert len(dispatcher.messages[2]["buttons"]) == 7  # every theme
    answer_id = slots["checking_answer"]
    assert tags(app, answer_id) == []
    # What they pick is theirs.
    picked = {**slots, "picked_themes": ["purpose"]}
    said, after, _ = run(themes.ActionFinishPicking(), tracker(intent="themes_done", slots=picked))
    assert said == ["utter_thanks_for_checking", "utter_ask_add_more"] and after["stage"] == "add_more"
    assert tags(app, answer_id) == [("purpose", "participant")]


@pytest.mark.parametrize("text, intent, picked, kept", [
    # "None of these": a person's choice of none.
    ("staff", "no_theme", [], []),
    # "none of these" typed after a pick (the button is gone by then) means no others.
    ("staff", "no_theme", ["purpose"], [("purpose", "participant")]),
    # Not sure, nothing picked: nothing is decided for them; the tagger's themes stay automatic.
    ("blue", "dont_know", [], []),
    ("I want to feel safe", "dont_know", [], [("being_safe", "auto")]),
    # Not sure after picking some: the picks are theirs.
    ("I want a job", "dont_know", ["purpose"], [("purpose", "participant")]),
])
def test_how_picking_ends_decides_the_themes_kept(app, text, intent, picked, kept):
    _, slots, _ = answer(app, text)
    said, after, _ = run(themes.ActionFinishPicking(), tracker(
        intent=intent, slots={**slots, "stage": "theme_pick", "picked_themes": picked}))
    assert said == ["utter_thanks_for_checking", "utter_ask_add_more"] and after["stage"] == "add_more"
    assert tags(app, slots["checking_answer"]) == kept


def test_a_flagged_answer_is_never_tagged(app):
    said, slots, _ = answer(app, "staff hit me and I do not feel safe")
    assert "utter_safeguarding_thanks" in said and "checking_answer" not in slots


def test_what_happened_shows_only_the_participant_s_own_themes(app):
    from actions import control
    from bot.store.models import StaffAction

    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    with app.sessions.begin() as session:
        session.add_all([StaffAction(theme_id="being_safe", text="We are training staff.", status="doing"),
                         StaffAction(theme_id="security", text="We are making jobs.", status="planned")])
    said, _, dispatcher = run(control.ActionWhatHappened(), tracker(intent="what_happened"))
    assert said == ["utter_what_happened_one", "utter_what_happened_themes_one", "utter_update_item_doing"]
    assert "Being safe" in dispatcher.messages[1]["themes"]
    assert dispatcher.messages[2]["action"] == "We are training staff."


def test_what_happened_during_the_theme_check_leaves_out_the_unchecked_guess(app):
    from actions import control

    _, first, _ = answer(app, "I want to feel safe", message_id="m1")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=first))
    _, second, _ = answer(app, "A job with money", message_id="m2")
    checking = {"stage": "theme_check", "checking_answer": second["checking_answer"]}
    for stage in ("theme_check", "theme_pick"):
        said, _, dispatcher = run(control.ActionWhatHappened(),
                                  tracker(intent="what_happened", slots={**checking, "stage": stage}))
        assert said[:2] == ["utter_what_happened", "utter_what_happened_themes"]
        assert dispatcher.messages[0]["count"] == "2"  # the answer itself is counted
        assert "Being safe" in dispatcher.messages[1]["themes"]
        assert "Money" not in dispatcher.messages[1]["themes"]  # not theirs until they agree
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=checking))
    said, _, dispatcher = run(control.ActionWhatHappened(), tracker(intent="what_happened"))
    assert "Money" in dispatcher.messages[1]["themes"]


def test_news_only_where_it_can_be_sent_and_can_be_stopped(app):
    from actions import control
    from bot.store import queries

    answer(app, "I want to feel safe")
    said, _, _ = run(control.ActionSetUpdates(), tracker(intent="updates_yes"))  # REST: no way
    assert said == ["utter_no_news_here"]  # says so, and how to hear news instead
    said, _, _ = run(control.ActionSetUpdates(), tracker("thanks", intent="deny"))
    assert said == ["utter_already_done"]  # no news was offered here: not "we will not send"
    on_telegram = Tracker("s1", {}, {"intent": {"name": "updates_yes", "confidence": 1.0},
                                     "text": "/updates_yes", "metadata": {}},
                          [{"event": "user", "input_channel": "telegram"}], False, None, {},
                          "action_listen")
    said, _, dispatcher = run(control.ActionSetUpdates(), on_telegram)
    assert said == ["utter_updates_yes"]
    assert dispatcher.messages[0]["custom"] == {"keep_contact": True}
    app.conversation.set_contact("s1", channel="telegram", address="12345")
    with app.sessions() as session:
        person = queries.get_participant(session, pseudonym=app.pseudonymizer.pseudonym("s1"))
        assert person.wants_updates is True
    said, _, _ = run(control.ActionSetUpdates(), tracker(intent="stop_updates"))
    assert said == ["utter_updates_no"]
    with app.sessions() as session:
        assert queries.get_participant(
            session, pseudonym=app.pseudonymizer.pseudonym("s1")).wants_updates is False


def test_a_tagger_trained_again_on_load_keeps_the_confirmed_tags(app, monkeypatch):
    """When the saved tagger is stale (new examples, new themes), the retraining includes what
    people confirmed; the store is read only if training is needed."""
    import bot.themes.loading
    from bot.app import load_tagger

    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    seen = {}

    def fake_load_or_train(model_path, *, extra_examples=(), themes=None, **_):
        seen["themes"], seen["extra"] = themes, list(extra_examples)  # a retraining reads them
        return "tagger"

    monkeypatch.setattr(bot.themes.loading, "load_or_train", fake_load_or_train)
    assert load_tagger(app.settings, app.engagement, app.tagging.confirmed_examples) == "tagger"
    assert seen["extra"] == [("I want to feel safe", ["being_safe"])]
    assert seen["themes"] == [theme.id for theme in app.engagement.themes]


def test_no_store_yet_means_training_on_the_examples_alone(app, monkeypatch, tmp_path, caplog):
    import bot.themes.loading
    from bot.app import load_tagger
    from bot.store.db import make_engine, make_session_factory
    from bot.tagging import TaggingService

    # A database file with no tables yet: nothing confirmed, said plainly, and training goes on.
    empty = TaggingService(make_session_factory(make_engine(f"sqlite:///{tmp_path}/empty.db")),
                           app.engagement, lambda: None)
    monkeypatch.setattr(bot.themes.loading, "load_or_train",
                        lambda model_path, *, extra_examples=(), **_: list(extra_examples))
    with caplog.at_level("INFO", logger="bot.tagging"):
        assert load_tagger(app.settings, app.engagement, empty.confirmed_for_training) == []
    assert "database is not set up" in caplog.text


def test_hello_while_the_themes_are_being_checked_asks_the_check_again(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    _, slots, _ = run(questions.ActionSaveAnswer(), tracker(
        "I want to feel safe", slots={"answer_text": "I want to feel safe"}))
    said, again, dispatcher = run(welcome.ActionWelcome(), tracker("hi", intent="greet",
                                                                   slots=slots))
    assert said == ["utter_welcome_back", "utter_check_themes"]
    assert again["stage"] == "theme_check" and "Being safe" in dispatcher.messages[1]["themes"]
    _, picking, _ = run(themes.ActionOfferThemes(), tracker(intent="deny", slots=slots))
    state = {**slots, **picking, "picked_themes": ["purpose"]}
    said, again, dispatcher = run(welcome.ActionWelcome(), tracker("hi", intent="greet",
                                                                   slots=state))
    assert said == ["utter_welcome_back", "utter_themes_picked", "utter_pick_more_themes",
                    "utter_pick_themes_done_picked"]
    assert again["stage"] == "theme_pick"
    offered = [b["payload"] for b in dispatcher.messages[2]["buttons"]]
    assert len(offered) == len(app.engagement.themes) - 1 and not any("purpose" in p for p in offered)


def test_what_happened_during_the_theme_check_asks_the_check_again(app):
    _, slots, _ = answer(app, "I want to feel safe")
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    assert slots["stage"] == "theme_check"
    slots = {"stage": "theme_check", "checking_answer": slots["checking_answer"]}
    said, again, dispatcher = run(welcome.ActionAskAgain(), tracker(intent="what_happened", slots=slots))
    assert said == ["utter_check_themes"]
    assert again == {"stage": "theme_check", "checking_themes": ["being_safe"]}
    assert "Being safe" in dispatcher.messages[0]["themes"]
    # While picking, the themes not picked yet are offered again.
    slots.update(stage="theme_pick", picked_themes=["being_safe"])
    said, again, dispatcher = run(welcome.ActionAskAgain(), tracker(intent="my_data", slots=slots))
    assert again == {"stage": "theme_pick"}
    # What is picked so far is said, and the buttons ask for any others.
    assert said == ["utter_themes_picked", "utter_pick_more_themes", "utter_pick_themes_done_picked"]
    assert "Being safe" in dispatcher.messages[0]["themes"]
    offered = [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert offered and not any("being_safe" in payload for payload in offered)


@pytest.mark.parametrize("stage, expected", [
    ("sound", ["utter_ask_sound"]), ("consent", ["utter_ask_consent"]), ("done", []),
    ("declined", []), (None, [])])
def test_asking_again_says_only_what_the_chat_waits_for(app, stage, expected):
    said, _, _ = run(welcome.ActionAskAgain(), tracker(intent="what_happened", slots={"stage": stage}))
    assert said == expected


def test_a_returning_participant_who_finished_hears_there_is_news(app):
    from bot.store.models import StaffAction

    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    for _ in app.engagement.questions:
        app.conversation.next_question("s1")
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet"))
    assert said == ["utter_already_done"]  # no news yet: nothing promised
    with app.sessions.begin() as session:
        session.add(StaffAction(theme_id="being_safe", text="We are training staff.", status="doing"))
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet"))
    assert said == ["utter_already_done", "utter_have_news"]
    # Once this chat has told them the news, "We have news" is not said again; a change to an
    # action after that is news again.
    import time

    from sqlalchemy import update

    heard = [{"event": "bot", "timestamp": time.time(), "text": "We are training staff.",
              "metadata": {"utter_action": "utter_update_item_doing"}}]
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet", events=heard))
    assert said == ["utter_already_done"]
    time.sleep(0.05)
    with app.sessions.begin() as session:  # staff change the action after they heard it
        session.execute(update(StaffAction).values(status="done", revision=2))
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet", events=heard))
    assert said == ["utter_already_done", "utter_have_news"]


def test_news_that_notify_sent_is_not_promised_again_in_the_chat(app):
    from datetime import datetime, timezone

    from sqlalchemy import update

    from bot.store import queries, staff_queries
    from bot.store.models import StaffAction

    _, slots, _ = answer(app, "I want to feel safe")
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    for _ in app.engagement.questions:
        app.conversation.next_question("s1")
    with app.sessions.begin() as session:
        action = StaffAction(theme_id="being_safe", text="We are training staff.", status="doing")
        session.add(action)
        session.flush()
        person = queries.get_participant(session, pseudonym=app.pseudonymizer.pseudonym("s1"))
        claimed = staff_queries.claim_notifications(session, participant_id=person.id,
                                                    items=[(action.id, 1)])
    # Claimed but not confirmed: it may not have reached them, so the chat still says so.
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet"))
    assert said == ["utter_already_done", "utter_have_news"]
    with app.sessions.begin() as session:
        staff_queries.confirm_notifications(session, notification_ids=claimed,
                                            sent_at=datetime.now(timezone.utc))
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet"))
    assert said == ["utter_already_done"]  # notify sent it on Telegram
    with app.sessions.begin() as session:  # a later change has not been sent yet
        session.execute(update(StaffAction).values(status="done", revision=2))
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet"))
    assert said == ["utter_already_done", "utter_have_news"]


class SafeAndMoney:
    """A retrained tagger that reads more into the same words."""

    def tag(self, texts):
        from tests.conversation.conftest import Tags

        return [Tags(["being_safe", "security"], {"being_safe": 0.9, "security": 0.8}) for _ in texts]


def test_yes_keeps_the_themes_shown_even_if_the_tagger_changed_them_since(app):
    _, slots, dispatcher = answer(app, "I want to feel safe")
    assert slots["checking_themes"] == ["being_safe"]
    # Staff retrain and the answer's automatic tags change while the question is on screen.
    app.tagging.set_tagger(SafeAndMoney())
    app.tagging.tag_answer(slots["checking_answer"])
    assert tags(app, slots["checking_answer"]) == [("being_safe", "auto"), ("security", "auto")]
    run(themes.ActionConfirmThemes(), tracker(intent="affirm", slots=slots))
    assert tags(app, slots["checking_answer"]) == [("being_safe", "participant")]


def _stored(app):
    from sqlalchemy import select
    from bot.store.models import Answer

    with app.sessions() as session:
        return [(a.text, a.flagged) for a in session.execute(select(Answer).order_by(Answer.id)).scalars()]


def test_words_typed_at_the_theme_check_are_kept_as_more_answer(app):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    more = "and I also like cooking with my mum on Sundays"
    said, after, dispatcher = run(control.ActionKindFallback(),
                                  tracker(more, intent="share", slots=slots, message_id="m2"))
    assert said[0] == "utter_reflect" and dispatcher.messages[0]["answer"] == more
    assert after["stage"] == "theme_pick" and after["checking_answer"] != slots["checking_answer"]
    assert _stored(app) == [("I want to feel safe", False), (more, False)]
    # The answer before keeps the tagger's themes, still automatic.
    assert tags(app, slots["checking_answer"]) == [("being_safe", "auto")]
    # While picking, the picks so far are kept as the participant's.
    picking = {**after, "picked_themes": ["purpose"]}
    said, after, _ = run(control.ActionKindFallback(), tracker(
        "we need more buses on sundays", intent="nlu_fallback", slots=picking, message_id="m3"))
    assert said[0] == "utter_reflect" and after["stage"] == "theme_pick"
    assert tags(app, picking["checking_answer"]) == [("purpose", "participant")]
    assert len(_stored(app)) == 3


def test_a_few_words_at_the_theme_check_are_not_an_answer(app):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    # "It is about my friends" is a "no" in other words: the themes to pick from (NLU may
    # read it as harm: the detector decides).
    for action in (control.ActionKindFallback(), control.ActionSafeguarding()):
        said, after, _ = run(action, tracker("It is about my friends", intent="share", slots=slots,
                                             message_id="m2"))
        assert said == ["utter_pick_themes", "utter_pick_themes_done"]
        assert after["stage"] == "theme_pick" and after["picked_themes"] == []
    # "It is about my home" names a theme: picking starts with it.
    said, after, dispatcher = run(control.ActionSafeguarding(), tracker(
        "It is about my home", intent="disclose_harm", slots=slots, message_id="m2"))
    assert said[0] == "utter_theme_added" and "Money" in dispatcher.messages[0]["theme"]
    assert after["stage"] == "theme_pick" and after["picked_themes"] == ["security"]
    # While picking, "all of them" picks every theme.
    said, after, _ = run(control.ActionKindFallback(), tracker(
        "all of them", intent="share", slots={**slots, **after}, message_id="m3"))
    assert said == ["utter_themes_picked", "utter_pick_themes_done_picked"]
    assert len(after["picked_themes"]) == 7 and after["picked_themes"][0] == "security"
    # Two words that are not understood: said so, and the check is asked again.
    said, _, _ = run(control.ActionKindFallback(),
                     tracker("blue cheese", intent="share", slots=slots, message_id="m3"))
    assert said == ["utter_not_understood_press", "utter_check_themes"]
    assert _stored(app) == [("I want to feel safe", False)]


def _said_at(text, seconds_later, before="I like going to"):
    """The events of an answer and a message sent this many seconds after it."""
    return [{"event": "user", "text": before, "timestamp": 1000.0},
            {"event": "user", "text": text, "timestamp": 1000.0 + seconds_later}]


def test_a_short_piece_sent_straight_after_the_answer_is_kept_as_more_answer(app):
    from actions import control

    _, slots, _ = answer(app, "I like going to")
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    assert slots["stage"] == "theme_pick"  # no theme found: the themes to pick from
    # "the park" four seconds later is the rest of the answer, sent in pieces.
    said, after, dispatcher = run(control.ActionKindFallback(), tracker(
        "the park", slots=slots, message_id="m2", events=_said_at("the park", 4)))
    assert said[0] == "utter_reflect" and dispatcher.messages[0]["answer"] == "the park"
    assert _stored(app) == [("I like going to", False), ("the park", False)]
    # A minute later, or a question ("why?"), or small words: not understood, nothing kept.
    for text, seconds in (("blue cheese", 60), ("why?", 3), ("yes it is", 2), ("\U0001F44D", 2)):
        said, _, _ = run(control.ActionKindFallback(), tracker(
            text, slots=slots, message_id="m3", events=_said_at(text, seconds)))
        assert said[0] in ("utter_not_understood_press", "utter_press_a_theme") and "utter_reflect" not in said, text
    # Once a theme button was pressed, a short message is no longer a piece of the answer.
    said, _, _ = run(control.ActionKindFallback(), tracker(
        "blue cheese", slots={**slots, "stage": "theme_pick", "picked_themes": []}, message_id="m4",
        events=_said_at("blue cheese", 2, before="/deny")))
    assert "utter_reflect" not in said
    assert len(_stored(app)) == 2


def test_a_disclosure_at_the_theme_check_ends_the_check_and_asks_to_carry_on(app):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    # Typed as words of an answer: kept, flagged, the calm script and "carry on?".
    said, after, _ = run(control.ActionSafeguarding(), tracker(
        "my brother hits me when mum is out", intent="disclose_harm", slots=slots, message_id="m2"))
    assert "utter_safeguarding_thanks" in said and said[-1] == "utter_safeguarding_carry_on"
    assert after["stage"] == "safeguard" and after["checking_answer"] is None
    assert _stored(app)[-1] == ("my brother hits me when mum is out", True)
    # A short one is not an answer, but the check ends all the same: "yes" cannot confirm it.
    _, slots, _ = answer(app, "I want a job", message_id="m3")
    for action, intent in ((control.ActionSafeguarding(), "disclose_harm"),
                           (control.ActionKindFallback(), "nlu_fallback")):
        said, after, _ = run(action, tracker("hit me", intent=intent, slots=slots, message_id="m4"))
        assert said[0] == "utter_safeguarding_thanks" and said[-1] == "utter_safeguarding_carry_on"
        assert after["stage"] == "safeguard" and after["checking_answer"] is None
    assert tags(app, slots["checking_answer"]) == [("security", "auto")]


def test_a_message_nlu_thought_was_harm_but_is_not_gets_the_check_asked_again(app):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, _, _ = run(control.ActionSafeguarding(),
                     tracker("blue cheese", intent="disclose_harm", slots=slots, message_id="m2"))
    assert said == ["utter_not_understood_press", "utter_check_themes"]


def test_a_tagger_saved_again_is_used_without_a_restart(app, tmp_path):
    import os

    from bot.tagging import TaggingService
    from tests.conversation.conftest import Tags

    model = tmp_path / "tagger.txt"  # stands for the saved tagger: the theme it finds
    model.write_text("purpose")
    loads = []

    def load():
        theme = model.read_text()
        if theme == "broken":
            raise ValueError("Cannot read the theme model")
        loads.append(theme)
        return type("FileTagger", (), {"tag": lambda self, texts: [
            Tags([theme], {theme: 0.9}) for _ in texts]})()

    tagging = TaggingService(app.sessions, app.engagement, load, model_path=model)
    assert [r.themes for r in tagging.suggest(["x", "y"])] == [["purpose"], ["purpose"]]
    model.write_text("security")
    os.utime(model, ns=(1, 10**18))  # a new stamp, whatever the clock's resolution
    assert tagging.suggest(["x"])[0].themes == ["security"]
    assert tagging.suggest(["x"])[0].themes == ["security"] and loads == ["purpose", "security"]
    # A file that cannot be loaded: the tagger in use stays, tried once.
    model.write_text("broken")
    os.utime(model, ns=(1, 2 * 10**18))
    assert tagging.suggest(["x"])[0].themes == ["security"]
    assert tagging.suggest(["x"])[0].themes == ["security"] and loads == ["purpose", "security"]


def test_a_theme_s_name_typed_while_picking_picks_it(app):
    from actions import control

    _, slots, _ = answer(app, "blue")  # no theme found: picking
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    state = dict(slots)
    for text, intent, theme in (("money", "disclose_harm", "security"), ("Being safe", "nlu_fallback", "being_safe"),
                                ("good staff", "choose_theme", "skilled_supporters")):
        action = {"disclose_harm": control.ActionSafeguarding(), "nlu_fallback": control.ActionKindFallback(),
                  "choose_theme": themes.ActionPickTheme()}[intent]
        said, update, dispatcher = run(action, tracker(text, intent=intent, slots=state))
        assert said[0] == "utter_theme_added", text
        state.update(update)
        assert state["picked_themes"][-1] == theme
    # Words naming two themes, or none, are not a pick.
    for text in ("being", "blue cheese"):
        said, update, _ = run(control.ActionKindFallback(), tracker(text, intent="nlu_fallback", slots=state))
        assert said[0] == "utter_not_understood_press" and "picked_themes" not in update, text
    run(themes.ActionFinishPicking(), tracker(intent="themes_done", slots=state))
    assert tags(app, slots["checking_answer"]) == [("being_safe", "participant"), ("security", "participant"),
                                                   ("skilled_supporters", "participant")]


def test_start_again_while_picking_keeps_the_picks(app):
    from actions import control

    _, slots, _ = answer(app, "blue")
    said, after, _ = run(control.ActionStartAgain(), tracker(
        "start again", intent="start_again", slots={**slots, "picked_themes": ["purpose"]}))
    assert after["stage"] == "consent" and after["checking_answer"] is None
    assert tags(app, slots["checking_answer"]) == [("purpose", "participant")]


def test_a_theme_pressed_again_is_kept_once_and_said_so(app):
    _, slots, _ = answer(app, "blue")
    state = {**slots, "picked_themes": ["purpose"]}
    said, update, dispatcher = run(themes.ActionPickTheme(), tracker(
        '/choose_theme{"theme":"purpose"}', intent="choose_theme", slots=state,
        entities=[{"entity": "theme", "value": "purpose"}]))
    assert said[0] == "utter_theme_picked_already" and "Having things to do" in dispatcher.messages[0]["theme"]
    assert update["picked_themes"] == ["purpose"]


def _set_by(app, answer_id):
    from bot.store.models import Answer

    with app.sessions() as session:
        return session.get(Answer, answer_id).themes_set_by


@pytest.mark.parametrize("stage", ["theme_check", "theme_pick"])
@pytest.mark.parametrize("text, intent", [
    ("money and being safe", "share"), ("Having things to do, Being safe", "deny"),
    ("being safe & having things to do", "disclose_harm"), ("safety and money", "themes_done"),
])
def test_theme_names_typed_in_a_list_are_all_picked_and_not_stored_as_an_answer(app, stage, text,
                                                                               intent):
    from actions import control

    _, slots, _ = answer(app, "I want a job")
    state = {**slots, "stage": stage, "picked_themes": []}
    action = {"share": control.ActionKindFallback(), "deny": themes.ActionOfferThemes(),
              "disclose_harm": control.ActionSafeguarding(),
              "themes_done": themes.ActionFinishPicking()}[intent]
    said, update, _ = run(action, tracker(text, intent=intent, slots=state, message_id="m2"))
    assert said == ["utter_themes_picked", "utter_pick_more_themes", "utter_pick_themes_done_picked"]
    assert sorted(update["picked_themes"]) == sorted(
        {"money and being safe": ["security", "being_safe"],
         "Having things to do, Being safe": ["purpose", "being_safe"],
         "being safe & having things to do": ["being_safe", "purpose"],
         "safety and money": ["being_safe", "security"]}[text])
    assert update["stage"] == "theme_pick"
    assert _stored(app) == [("I want a job", False)]
    run(themes.ActionFinishPicking(), tracker("/themes_done", intent="themes_done",
                                              slots={**state, **update}))
    assert sorted(theme for theme, _ in tags(app, slots["checking_answer"])) == \
        sorted(update["picked_themes"])


@pytest.mark.parametrize("stage, picked, text, intent, said, themes_after", [
    # Thanks is neither yes nor no: the buttons come again, nothing changes.
    ("theme_check", [], "thanks", "deny", ["utter_press_a_theme", "utter_check_themes"], "auto"),
    ("theme_check", [], "Thank you!", "affirm", ["utter_press_a_theme", "utter_check_themes"], "auto"),
    ("theme_pick", [], "thanks", "nlu_fallback",
     ["utter_press_a_theme", "utter_pick_themes", "utter_pick_themes_done"], "auto"),
    # None of them: the participant's own "none", whatever NLU read it as.
    ("theme_check", [], "none", "nlu_fallback", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "none"),
    ("theme_check", [], "None of them", "deny", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "none"),
    ("theme_pick", [], "none of them", "share", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "none"),
    ("theme_pick", [], "neither", "deny", ["utter_thanks_for_checking", "utter_ask_add_more"], "none"),
    # After a pick, "none of these" means no others: the picks are kept.
    ("theme_pick", ["purpose"], "none of these", "share",
     ["utter_thanks_for_checking", "utter_ask_add_more"], "picked"),
    # Not sure, in other words: the tagger's themes stay, marked automatic.
    ("theme_check", [], "maybe", "nlu_fallback", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "auto"),
    ("theme_check", [], "kind of", "affirm", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "auto"),
    ("theme_pick", [], "I don't want to say", "share",
     ["utter_thanks_for_checking", "utter_ask_add_more"], "auto"),
    # Wrong: a "no".
    ("theme_check", [], "wrong", "nlu_fallback", ["utter_pick_themes", "utter_pick_themes_done"],
     "auto"),
    # "All of them" or "both" about the themes shown at the check: they are right.
    ("theme_check", [], "all of them", "deny", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "confirmed"),
    ("theme_check", [], "Both", "nlu_fallback", ["utter_thanks_for_checking", "utter_ask_add_more"],
     "confirmed"),
    # "That is all", the button's own words, typed: the picks are done.
    ("theme_pick", ["purpose"], "That is all", "share",
     ["utter_thanks_for_checking", "utter_ask_add_more"], "picked"),
    ("theme_pick", ["purpose"], "that's all thanks", "deny",
     ["utter_thanks_for_checking", "utter_ask_add_more"], "picked"),
    ("theme_pick", ["purpose"], "that's it", "affirm",
     ["utter_thanks_for_checking", "utter_ask_add_more"], "picked"),
    ("theme_pick", [], "that's all", "nlu_fallback",
     ["utter_none_picked_yet", "utter_pick_themes", "utter_pick_themes_done"], "auto"),
    ("theme_check", [], "that's it", "nlu_fallback",
     ["utter_thanks_for_checking", "utter_ask_add_more"], "confirmed"),
])
def test_typed_replies_at_the_theme_step_mean_what_they_say_whatever_nlu_read(
        app, stage, picked, text, intent, said, themes_after):
    from actions import control

    _, slots, _ = answer(app, "I want a job")
    state = {**slots, "stage": stage, "picked_themes": picked,
             "checking_themes": ["security"]}
    action = {"share": control.ActionKindFallback(), "nlu_fallback": control.ActionKindFallback(),
              "deny": themes.ActionOfferThemes() if stage == "theme_check"
              else themes.ActionFinishPicking(),
              "affirm": themes.ActionConfirmThemes()}[intent]
    replies, _, dispatcher = run(action, tracker(text, intent=intent, slots=state, message_id="m2"))
    assert replies == said
    assert _stored(app) == [("I want a job", False)]  # never stored as an answer
    answer_id = slots["checking_answer"]
    assert {"auto": ([("security", "auto")], None), "none": ([], "participant"),
            "picked": ([("purpose", "participant")], "participant"),
            "confirmed": ([("security", "participant")], "participant")}[themes_after] == \
        (tags(app, answer_id), _set_by(app, answer_id))


def test_words_typed_instead_of_picking_after_no_are_an_answer_of_their_own(app):
    from actions import control

    _, slots, _ = answer(app, "I want a job")
    _, picking, _ = run(themes.ActionOfferThemes(), tracker(intent="deny", slots=slots))
    more = "I also like swimming at the leisure centre"
    said, after, _ = run(control.ActionKindFallback(), tracker(
        more, intent="share", slots={**slots, **picking}, message_id="m2"))
    assert said[0] == "utter_reflect"
    assert _stored(app) == [("I want a job", False), (more, False)]
    # The answer before keeps the tagger's themes, never confirmed (automatic): with none it
    # would read as the tagger's "none".
    assert tags(app, slots["checking_answer"]) == [("security", "auto")]
    assert _set_by(app, slots["checking_answer"]) is None


@pytest.mark.parametrize("text, theme", [("good staff", "skilled_supporters"), ("home", "security"),
                                         ("feeling safe", "being_safe")])
def test_a_theme_name_nlu_took_for_a_greeting_picks_it(app, text, theme):
    _, slots, _ = answer(app, "blue")
    said, update, _ = run(welcome.ActionWelcome(), tracker(text, intent="greet", slots=slots))
    assert said[0] == "utter_theme_added" and update["picked_themes"] == [theme]
    # A real hello asks the pick again, and plain words alone pick nothing ("good" is a yes).
    for hello in ("hello", "good"):
        said, update, _ = run(welcome.ActionWelcome(), tracker(hello, intent="greet", slots=slots))
        assert "utter_theme_added" not in said and "picked_themes" not in update


def _picking(app, picked):
    _, slots, _ = answer(app, "I want to feel safe")
    return {**slots, "stage": "theme_pick", "picked_themes": list(picked)}


def test_pick_again_forgets_the_picks_and_offers_every_theme(app):
    state = _picking(app, ["purpose", "security"])
    said, after, shown = run(themes.ActionPickAgain(), tracker("/pick_again", intent="pick_again",
                                                                slots=state))
    assert said == ["utter_picks_cleared", "utter_pick_themes", "utter_pick_themes_done"]
    assert after == {"stage": "theme_pick", "picked_themes": []}
    assert len(shown.messages[1]["buttons"]) == len(app.engagement.themes)
    # Then a new pick, and "That is all" stores only that one.
    state.update(after)
    _, update, _ = run(themes.ActionPickTheme(), tracker(
        '/choose_theme{"theme":"being_safe"}', intent="choose_theme", slots=state,
        entities=[{"entity": "theme", "value": "being_safe"}]))
    state.update(update)
    run(themes.ActionFinishPicking(), tracker(intent="themes_done", slots=state))
    assert tags(app, state["checking_answer"]) == [("being_safe", "participant")]


def test_once_a_theme_is_picked_pick_again_is_offered(app):
    state = _picking(app, [])
    _, _, shown = run(themes.ActionPickTheme(), tracker(
        '/choose_theme{"theme":"purpose"}', intent="choose_theme", slots=state,
        entities=[{"entity": "theme", "value": "purpose"}]))
    done = shown.messages[-1]
    assert done["response"] == "utter_pick_themes_done_picked"
    # The buttons are in the domain's response: the action adds none of its own there.
    from pathlib import Path

    from bot.wording import load_responses

    domain = Path(__file__).resolve().parents[2] / "domain.yml"
    buttons = load_responses(domain)["utter_pick_themes_done_picked"][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/themes_done", "/pick_again"]


@pytest.mark.parametrize("typed", ["pick again", "Oops, wrong one", "undo", "Clear my picks"])
def test_typed_pick_again_works_whatever_nlu_read(app, typed):
    state = _picking(app, ["purpose"])
    said, after, _ = run(themes.ActionPickTheme(), tracker(typed, intent="choose_theme", slots=state))
    assert said[0] == "utter_picks_cleared" and after["picked_themes"] == []


@pytest.mark.parametrize("typed, left, said_first", [
    ("take away having things to do", ["security"], "utter_theme_taken_off"),
    ("Remove money", ["purpose"], "utter_theme_taken_off"),
    ("take money off please", ["purpose"], "utter_theme_taken_off"),
    ("take money off", ["purpose"], "utter_theme_taken_off"),
    ("not being safe", ["purpose", "security"], "utter_theme_not_picked"),
    ("remove money and having things to do", [], "utter_theme_taken_off"),
    ("get rid of having things to do", ["security"], "utter_theme_taken_off"),
    ("remove money please", ["purpose"], "utter_theme_taken_off"),
    ("I don't want money", ["purpose"], "utter_theme_taken_off"),
    ("remove everything", [], "utter_picks_cleared"),  # one line, not one for every theme
    ("delete all", [], "utter_picks_cleared"),
])
def test_a_picked_theme_can_be_taken_back_by_name(app, typed, left, said_first):
    state = _picking(app, ["purpose", "security"])
    said, after, shown = run(themes.ActionFinishPicking(), tracker(typed, intent="nlu_fallback",
                                                                    slots=state))
    assert said[0] == said_first
    assert said.count("utter_theme_not_picked") <= 1 and said.count("utter_theme_taken_off") <= 2
    assert after["picked_themes"] == left
    offered = [b["payload"] for m in shown.messages for b in m.get("buttons", [])]
    assert sum("choose_theme" in p for p in offered) == len(app.engagement.themes) - len(left)
    if not left:  # nothing picked now: "None of these" is back
        assert said[-1] == "utter_pick_themes_done"


def test_taking_back_is_only_while_picking(app):
    _, slots, _ = answer(app, "I want to feel safe")
    said, _, _ = run(themes.ActionConfirmThemes(), tracker("not being safe", intent="deny", slots=slots))
    assert "utter_theme_taken_off" not in said


@pytest.mark.parametrize("typed, intent", [("good", "greet"), ("Spot on!", "sound_on"),
                                           ("sounds good", "sound_on"), ("lovely", "nlu_fallback"),
                                           ("Brilliant", "greet"), ("yes thanks", "affirm")])
def test_a_typed_yes_in_other_words_confirms_the_check(app, typed, intent):
    """"good" (read as a greeting), "spot on" (read as sound on): the themes shown are right,
    and sound is not switched on by the way."""
    from actions import control

    action = {"greet": welcome.ActionWelcome(), "sound_on": welcome.ActionSetSound(),
              "nlu_fallback": control.ActionKindFallback(),
              "affirm": themes.ActionConfirmThemes()}[intent]
    _, slots, _ = answer(app, "I want to feel safe")
    said, after, _ = run(action, tracker(typed, intent=intent, slots=slots))
    assert said == ["utter_thanks_for_checking", "utter_ask_add_more"] and after["stage"] == "add_more"
    assert tags(app, slots["checking_answer"]) == [("being_safe", "participant")]
    assert app.conversation.sound_preference("s1") is not True


def test_good_while_picking_is_not_a_pick_or_a_finish(app):
    from actions import control

    state = _picking(app, ["purpose"])
    said, after, _ = run(control.ActionKindFallback(), tracker("good", intent="nlu_fallback", slots=state))
    assert "utter_thanks_for_checking" not in said and after.get("picked_themes", ["purpose"]) == ["purpose"]


@pytest.mark.parametrize("typed", ["no it is not right", "No, that is not right.", "nope not really",
                                   "no i don't think so"])
def test_a_no_in_a_few_words_at_the_check_shows_the_themes_and_is_not_an_answer(app, typed):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    said, after, _ = run(control.ActionKindFallback(), tracker(typed, intent="nlu_fallback", slots=slots))
    assert said == ["utter_pick_themes", "utter_pick_themes_done"] and after["stage"] == "theme_pick"
    assert "utter_reflect" not in said  # not kept as more answer


@pytest.mark.parametrize("typed", ["yes it is", "yes that's right mate", "ok"])
def test_a_yes_in_a_few_words_at_the_check_confirms(app, typed):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    said, after, _ = run(control.ActionKindFallback(), tracker(typed, intent="nlu_fallback", slots=slots))
    assert said == ["utter_thanks_for_checking", "utter_ask_add_more"]
    assert tags(app, slots["checking_answer"]) == [("being_safe", "participant")]


@pytest.mark.parametrize("typed, intent, picked", [
    ("nope its about money", "share", ["security"]),
    ("no its about money", "deny", ["security"]),
    ("wrong, it is about my job", "share", ["security"]),
    ("no it's about being safe and money", "disclose_harm", ["being_safe", "security"]),
    ("no, money", "deny", ["security"]),
    ("nope its more about money really", "share", ["security"]),
    ("No it is about my friends", "share", []),  # names no theme: the themes to pick from
])
def test_a_no_with_what_it_is_about_at_the_check_starts_picking_with_it(app, typed, intent, picked):
    from actions import control

    _, slots, _ = answer(app, "I want a job")
    assert slots["stage"] == "theme_check"
    action = {"share": control.ActionKindFallback(), "disclose_harm": control.ActionSafeguarding(),
              "deny": themes.ActionOfferThemes()}[intent]
    said, after, _ = run(action, tracker(typed, intent=intent, slots=slots, message_id="m2"))
    assert after.get("stage") == "theme_pick" and after.get("picked_themes") == picked, (said, after)
    assert said[0] == ({1: "utter_theme_added", 2: "utter_themes_picked"}.get(len(picked))
                       or "utter_pick_themes")
    assert _stored(app) == [("I want a job", False)]  # not an answer


def test_a_no_with_what_it_is_about_while_picking_picks_it(app):
    from actions import control

    _, slots, _ = answer(app, "blue")  # no theme found: picking
    said, after, _ = run(control.ActionKindFallback(),
                         tracker("no its about money", intent="share", slots=slots, message_id="m2"))
    assert said[0] == "utter_theme_added" and after["picked_themes"] == ["security"]
    assert _stored(app) == [("blue", False)]


def test_yes_and_another_theme_at_the_check_keeps_both_for_the_pick(app):
    from actions import control

    _, slots, _ = answer(app, "I want to feel safe")
    said, after, _ = run(control.ActionKindFallback(), tracker("yes and being accepted too",
                                                               intent="nlu_fallback", slots=slots))
    assert said[0] == "utter_themes_picked" and after["stage"] == "theme_pick"
    assert after["picked_themes"] == ["being_safe", "accepted_valued"]
    run(themes.ActionFinishPicking(), tracker(intent="themes_done", slots={**slots, **after}))
    assert tags(app, slots["checking_answer"]) == [("accepted_valued", "participant"),
                                                   ("being_safe", "participant")]


@pytest.mark.parametrize("typed", ["yes it is", "no it is not right", "I think so"])
def test_a_few_small_words_while_picking_are_never_a_new_answer(app, typed):
    from actions import control

    state = _picking(app, [])
    said, after, _ = run(control.ActionKindFallback(), tracker(typed, intent="nlu_fallback", slots=state))
    assert "utter_reflect" not in said and "utter_press_a_theme" in said
    assert after.get("picked_themes", []) == []
    from bot.store import queries

    with app.sessions() as session:
        assert queries.count_answers(session) == 1  # the answer being checked, nothing more


def test_a_typed_payload_of_no_intent_is_not_acted_on_whatever_nlu_guessed(app):
    from actions import data_rights

    _, slots, _ = answer(app, "I want to feel safe")
    for action, guessed in ((themes.ActionConfirmThemes(), "affirm"),
                            (data_rights.ActionWithdraw(), "withdraw_consent")):
        said, after, dispatcher = run(action, tracker("/nonsense_intent", intent=guessed, slots=slots))
        assert said == [] and after == {}
    assert tags(app, slots["checking_answer"]) == [("being_safe", "auto")]  # not confirmed
    assert app.conversation.progress("s1").consented  # not withdrawn


def test_staff_themes_keep_the_saved_taggers_scores_without_training(app, tmp_path):
    """`themes set` in a fresh process: the saved tagger is read for the scores, never trained."""
    from bot.store import theme_queries
    from bot.tagging import TaggingService

    _, slots, _ = answer(app, "I want a job")
    saved = tmp_path / "tagger.npz"
    saved.write_bytes(b"a saved tagger")

    def train():
        raise AssertionError("a staff tag must not wait for training")

    staff = TaggingService(app.sessions, app.engagement, train, model_path=saved,
                           reload_tagger=KeywordTagger)
    staff.set_by_staff(slots["checking_answer"], ["security", "purpose"], actor="sam")
    with app.sessions() as session:
        stored = theme_queries.tags_of(session, answer_id=slots["checking_answer"])
        assert sorted((tag.theme_id, tag.source, tag.score) for tag in stored) == [
            ("purpose", "staff", pytest.approx(0.1)), ("security", "staff", pytest.approx(0.9))]
    # No saved tagger at all: the tags are kept without scores.
    bare = TaggingService(app.sessions, app.engagement, train, model_path=tmp_path / "none.npz")
    bare.set_by_staff(slots["checking_answer"], ["purpose"], actor="sam")
    with app.sessions() as session:
        assert [(tag.theme_id, tag.score) for tag in theme_queries.tags_of(
            session, answer_id=slots["checking_answer"])] == [("purpose", None)]
