"""Action tests: saved trackers in, a collecting dispatcher out, the real store underneath."""
import asyncio

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import control, data_rights, questions, welcome
from tests.conversation.conftest import PICK_THEMES
from bot.settings import PROJECT_ROOT
from bot.store import queries
from bot.store.models import Answer, Participant, SafeguardingAlert


def tracker(sender="s1", *, intent="greet", text="hi", slots=None, message_id="m1",
            active_loop=None, events=None, confidence=0.99):
    """A tracker as the Rasa server would send it to the action server."""
    latest = {"intent": {"name": intent, "confidence": confidence}, "text": text,
              "message_id": message_id, "metadata": {}, "entities": []}
    return Tracker(sender, slots or {}, latest, events or [], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, tracker_):
    """Run an action; return what it said (response names) and its events."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    return [m.get("response") or m.get("text") for m in dispatcher.messages], events, dispatcher


def slot(events, name):
    return next((e["value"] for e in events if e.get("event") == "slot" and e["name"] == name), "unset")


def test_a_new_participant_is_asked_about_sound_first(app):
    said, events, _ = run(welcome.ActionWelcome(), tracker())
    assert said == ["utter_ask_sound"] and slot(events, "stage") == "sound"


def test_sound_choice_then_introduction_with_privacy_and_consent(app):
    said, events, _ = run(welcome.ActionChooseSound(), tracker(intent="sound_on"))
    assert said == ["utter_sound_on", "utter_welcome", "utter_purpose", "utter_remit",
                    "utter_privacy", "utter_ask_consent"]
    assert slot(events, "stage") == "consent"
    assert app.conversation.sound_preference("s1") is True


def on_channel(channel, **kwargs):
    """A tracker whose latest message came through this channel (as Rasa's REST channel
    records the web chat's input_channel)."""
    return tracker(events=[{"event": "user", "text": kwargs.get("text", "hi"),
                            "input_channel": channel}], **kwargs)


@pytest.mark.parametrize("action", [welcome.ActionChooseSound(), welcome.ActionSetSound()])
def test_sound_on_in_the_web_chat_says_to_press_listen(app, action):
    said, _, _ = run(action, on_channel("web", sender="w1", intent="sound_on", text="/sound_on"))
    assert said[0] == "utter_sound_on_web"
    assert app.conversation.sound_preference("w1") is True
    said, _, _ = run(action, on_channel("telegram", sender="t1", intent="sound_on",
                                        text="/sound_on"))
    assert said[0] == "utter_sound_on"  # Telegram's words stay as they are
    said, _, _ = run(action, on_channel("web", sender="w2", intent="sound_off", text="/sound_off"))
    assert said[0] == "utter_sound_off"


def test_saying_no_keeps_only_a_count(app):
    run(welcome.ActionChooseSound(), tracker(intent="sound_off"))
    said, events, _ = run(welcome.ActionRefuseConsent(), tracker(intent="deny"))
    assert said == ["utter_consent_refused"] and slot(events, "stage") == "declined"
    with app.sessions() as session:
        assert session.execute(select(Participant)).first() is None
        assert queries.get_counter(session, engagement_id=app.engagement.id,
                                   name="consent_declined") == 1


def test_carer_is_asked_if_the_person_agrees_and_questions_say_them(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    assert said == ["utter_ask_person_agrees"] and slot(events, "stage") == "carer_agree"
    said, events, _ = run(welcome.ActionPersonAgrees(), tracker(intent="deny"))
    assert said == ["utter_carer_ask_first"] and slot(events, "stage") == "carer_agree"
    said, events, _ = run(welcome.ActionPersonAgrees(), tracker(intent="affirm"))
    assert said == ["utter_carer_thanks"] and slot(events, "stage") == "question"
    _, _, dispatcher = run(questions.ActionAskAnswerText(), tracker())
    assert dispatcher.messages[0]["question"] == app.engagement.questions[0].text_for_them


def test_a_carer_whose_person_will_answer_for_themselves_can_say_so(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    said, _, _ = run(welcome.ActionPersonAgrees(), tracker(intent="deny"))
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    buttons = domain["responses"][said[0]][0]["buttons"]
    # They say yes, they answer for themselves, or stop for now: never a loop of "ask first".
    assert [b["payload"] for b in buttons] == ["/affirm", "/role_self", "/stop"]
    said, _, _ = run(control.ActionPause(), tracker(intent="stop", text="/stop",
                                                    slots={"stage": "carer_agree"}))
    assert said == ["utter_pause_no_answers"]
    said, _, _ = run(welcome.ActionWelcome(), tracker(intent="greet", text="/greet"))
    assert said == ["utter_welcome_back", "utter_ask_person_agrees"]
    said, events, _ = run(welcome.ActionSetRole(), tracker(intent="role_self"))
    assert slot(events, "stage") == "question"
    progress = app.conversation.progress("s1")
    assert progress.role == "self" and progress.person_agrees is None
    _, _, dispatcher = run(questions.ActionAskAnswerText(), tracker())
    assert dispatcher.messages[0]["question"] == app.engagement.questions[0].text


def test_a_support_worker_is_asked_about_the_people_they_support(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(welcome.ActionSetRole(), tracker(intent="role_support_worker"))
    assert said == [] and slot(events, "stage") == "question"
    _, _, dispatcher = run(questions.ActionAskAnswerText(), tracker())
    assert dispatcher.messages[0]["question"] == app.engagement.questions[0].text_for_supported
    assert "people you support" in dispatcher.messages[0]["question"]


def test_answer_is_saved_once_reflected_and_more_is_offered(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    answered = tracker(intent="share", text="My friends", slots={"answer_text": "My friends"},
                       message_id="tg-77")
    said, events, dispatcher = run(questions.ActionSaveAnswer(), answered)
    again, events_again, _ = run(questions.ActionSaveAnswer(), answered)  # the same message again
    # No theme found: the participant is asked which themes it is about.
    assert said == ["utter_reflect", *PICK_THEMES]
    assert dispatcher.messages[0]["answer"] == "My friends"
    assert slot(events, "stage") == "theme_pick" and slot(events, "checking_answer") is not None
    # Delivered again, it is not stored or asked about twice.
    assert again == ["utter_reflect", "utter_ask_add_more"] and slot(events_again, "stage") == "add_more"
    with app.sessions() as session:
        rows = session.execute(select(Answer)).scalars().all()
    assert [(a.text, a.question_id, a.role) for a in rows] == [("My friends", "good_life", "self")]


def test_long_answers_are_stored_whole_but_reflected_short(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    long_text = "word " * 1000
    _, _, dispatcher = run(questions.ActionSaveAnswer(),
                           tracker(slots={"answer_text": long_text}, message_id="m-long"))
    assert len(dispatcher.messages[0]["answer"]) < 300
    with app.sessions() as session:
        assert session.execute(select(Answer.text)).scalar_one() == long_text


def test_commands_are_not_taken_as_answers():
    form = questions.ValidateAnswerForm()
    asking = {"requested_slot": "answer_text"}
    extract = lambda t: asyncio.run(form.extract_answer_text(CollectingDispatcher(), t, {}))
    assert extract(tracker(intent="help", text="help", slots=asking)) == {}
    assert extract(tracker(intent="stop", text="/stop", slots=asking)) == {}
    long_help = "my support worker helps me with my shopping every week"
    assert extract(tracker(intent="help", text=long_help, slots=asking)) == {"answer_text": long_help}
    assert extract(tracker(intent="help", text="helps me", slots=asking, confidence=0.5)) \
        == {"answer_text": "helps me"}
    assert extract(tracker(intent="share", text="my dog", slots={})) == {}
    # NLU sometimes mistakes odd answers for commands; words the command never uses win.
    for text, intent in (("'; DROP TABLE answers; --", "what_happened"),
                         ("stop people bullying me", "stop"), ("Quiero un trabajo", "repeat")):
        assert extract(tracker(intent=intent, text=text, slots=asking)) == {"answer_text": text}
    for text, intent in (("help me please", "help"), ("start again", "start_again"),
                         ("sound off", "sound_off"), ("next question", "skip")):
        assert extract(tracker(intent=intent, text=text, slots=asking)) == {}, text


@pytest.mark.parametrize("text, intent", [("no", "deny"), ("Nope", "deny"), ("yes", "affirm"),
                                          ("I don't want to", "deny"), ("/deny", "deny")])
def test_a_bare_yes_or_no_at_a_question_is_not_an_answer(app, text, intent):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    asked = tracker(intent=intent, text=text, confidence=0.95,
                    slots={"requested_slot": "answer_text", "stage": "question"})
    form = questions.ValidateAnswerForm()
    assert asyncio.run(form.extract_answer_text(CollectingDispatcher(), asked, {})) == {}
    said, events, _ = run(questions.ActionYesNoAtQuestion(), asked)
    # "You can tell me in your own words, or press Skip." and the form asks the question again.
    assert said == ["utter_answer_in_words"] and slot(events, "stage") == "question"
    assert {"event": "active_loop", "name": "answer_form", "timestamp": None} in events
    assert _answers(app) == [] and app.conversation.progress("s1").question_index == 0


def test_nothing_and_longer_words_at_a_question_are_answers(app):
    form = questions.ValidateAnswerForm()
    asking = {"requested_slot": "answer_text"}
    for text, intent, confidence in (("Nothing", "deny", 0.95), ("nothing really", "deny", 0.9),
                                     ("no buses on sunday", "deny", 0.95),
                                     ("yes my family", "affirm", 0.6)):
        asked = tracker(intent=intent, text=text, confidence=confidence, slots=asking)
        assert asyncio.run(form.extract_answer_text(CollectingDispatcher(), asked, {})) == \
            {"answer_text": text}, text


def test_no_after_what_else_goes_on_to_the_next_question(app):
    _start(app)
    adding = {"requested_slot": "answer_text", "stage": "question", "adding_more": True}
    for text, intent in (("yes", "affirm"), ("nothing else", "deny")):
        asked = tracker(intent=intent, text=text, confidence=0.95, slots=adding, message_id=text)
        form = questions.ValidateAnswerForm()
        assert asyncio.run(form.extract_answer_text(CollectingDispatcher(), asked, {})) == {}
    # "yes" to "What else do you want to tell us?": the form asks it again.
    said, events, _ = run(questions.ActionYesNoAtQuestion(),
                          tracker(intent="affirm", text="yes", confidence=0.95, slots=adding))
    assert said == [] and slot(events, "requested_slot") == "answer_text"
    # "nothing else": the next question, with the form closed so it opens on that question.
    said, events, _ = run(questions.ActionYesNoAtQuestion(),
                          tracker(intent="deny", text="nothing else", confidence=0.95, slots=adding))
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert slot(events, "stage") == "question" and slot(events, "adding_more") is False
    assert app.conversation.progress("s1").question_index == 1
    assert _answers(app) == ["blue sky"]


def test_an_empty_answer_gets_a_kind_reply():
    dispatcher = CollectingDispatcher()
    result = questions.ValidateAnswerForm().validate_answer_text("   ", dispatcher, tracker(), {})
    assert result == {"answer_text": None}
    assert dispatcher.messages[0]["response"] == "utter_empty_answer"


def test_after_the_last_question_the_participant_hears_what_happens_next(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    for _ in app.engagement.questions[1:]:
        _, events, _ = run(questions.ActionNextQuestion(), tracker(intent="deny"))
        assert slot(events, "stage") == "question"
    said, events, _ = run(questions.ActionSkipQuestion(), tracker(intent="skip"))
    # Not "we will go to the next question"; and this channel cannot send news, so it says how
    # to hear it instead of offering it.
    assert said == ["utter_skip_ok_last", "utter_end_thanks", "utter_next_steps",
                    "utter_ask_later_no_news", "utter_contact"]
    assert slot(events, "stage") == "done"
    assert app.conversation.progress("s1").status == "finished"


def test_stop_then_hello_carries_on_where_they_left(app):
    run(welcome.ActionChooseSound(), tracker(intent="sound_off"))
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    run(questions.ActionSaveAnswer(), tracker(text="My friends", slots={"answer_text": "My friends"}))
    run(questions.ActionNextQuestion(), tracker(intent="deny"))
    said, _, _ = run(control.ActionPause(), tracker(intent="stop", active_loop="answer_form"))
    assert said == ["utter_pause"] and app.conversation.progress("s1").status == "paused"
    said, events, _ = run(welcome.ActionWelcome(), tracker(intent="greet"))
    assert said == ["utter_welcome_back"] and slot(events, "stage") == "question"
    assert app.conversation.progress("s1").question_index == 1


@pytest.mark.parametrize("typed, intent", [("carry on", "sound_on"), ("Carry on please", "nlu_fallback"),
                                           ("continue", "nlu_fallback"), ("Let's carry on!", "sound_on")])
def test_typing_carry_on_after_stop_carries_on(app, typed, intent):
    run(welcome.ActionChooseSound(), tracker(intent="sound_off"))
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    run(control.ActionPause(), tracker(intent="stop", active_loop="answer_form"))
    stopped = {"stage": "question"}
    # Not understood while stopped: the way back comes with it, so "Say that again" has it too.
    said, _, _ = run(control.ActionKindFallback(), tracker(intent="nlu_fallback", text="blah",
                                                           slots=stopped))
    assert said == ["utter_not_understood", "utter_paused"]
    action = welcome.ActionSetSound() if intent == "sound_on" else control.ActionKindFallback()
    said, events, _ = run(action, tracker(intent=intent, text=typed, slots=stopped))
    assert said == ["utter_welcome_back"] and slot(events, "stage") == "question"
    assert events[-1] == {"event": "followup", "name": "answer_form", "timestamp": None}
    assert app.conversation.progress("s1").status != "paused"
    assert app.conversation.sound_preference("s1") is False  # "carry on" is not "sound on"


@pytest.mark.parametrize("first", [True, False])
def test_stop_that_nlu_was_unsure_of_is_a_pause(app, first):
    if not first:
        run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
        run(welcome.ActionSetRole(), tracker(intent="role_self"))
        run(questions.ActionSaveAnswer(), tracker(text="My friends", slots={"answer_text": "My friends"}))
    said, events, _ = run(control.ActionKindFallback(), tracker(
        intent="nlu_fallback", text="Stop", confidence=0.4, slots={} if first else {"stage": "add_more"}))
    assert said == (["utter_pause_not_started"] if first else ["utter_pause"])
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


def test_repeat_sends_the_last_messages_again_with_buttons(app):
    events = [{"event": "user", "text": "hi"},
              {"event": "bot", "text": "Do you want to take part?",
               "data": {"buttons": [{"title": "Yes", "payload": "/affirm"}]}},
              {"event": "user", "text": "repeat"}]
    _, _, dispatcher = run(control.ActionRepeat(), tracker(intent="repeat", text="repeat", events=events))
    assert dispatcher.messages[0]["text"] == "Do you want to take part?"
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/affirm"


def test_repeat_after_help_shows_what_the_chat_waits_for_not_the_help_again(app):
    help_message = {"event": "bot", "text": "You can type, or press a button.",
                    "metadata": {"utter_action": "utter_help"}}
    events = [{"event": "user", "text": "hi"},
              {"event": "bot", "text": "Do you want to take part?",
               "data": {"buttons": [{"title": "Yes", "payload": "/affirm"}]}},
              {"event": "user", "text": "help"}, help_message,
              {"event": "bot", "text": "Do you want to take part?",
               "data": {"buttons": [{"title": "Yes", "payload": "/affirm"}]}},
              {"event": "user", "text": "say that again"}]
    _, _, dispatcher = run(control.ActionRepeat(), tracker(intent="repeat", text="say that again", events=events))
    assert [(m["text"], m["buttons"]) for m in dispatcher.messages] == \
        [("Do you want to take part?", [{"title": "Yes", "payload": "/affirm"}])]
    # Help with nothing after it (the very first message) is the help again.
    events = [{"event": "user", "text": "help"}, help_message, {"event": "user", "text": "repeat"}]
    _, _, dispatcher = run(control.ActionRepeat(), tracker(intent="repeat", text="repeat", events=events))
    assert [m["text"] for m in dispatcher.messages] == ["You can type, or press a button."]


def test_words_typed_instead_of_yes_are_kept_as_more_answer(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(control.ActionKindFallback(),
                          tracker(intent="more_info", text="and my garden too",
                                  slots={"stage": "add_more"}, message_id="m-9"))
    assert said == ["utter_reflect", *PICK_THEMES]
    with app.sessions() as session:
        assert session.execute(select(Answer.text)).scalar_one() == "and my garden too"


def test_not_understood_elsewhere_offers_buttons(app):
    said, events, _ = run(control.ActionKindFallback(), tracker(intent="nlu_fallback",
                                                                  slots={"stage": "done"}))
    assert said == ["utter_not_understood"] and events[0]["event"] == "rewind"


def test_a_flood_gets_one_kind_word_and_is_not_all_stored(app):
    from bot.conversation import FLOOD_ANSWERS

    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    slots, replies = {}, []
    for number in range(FLOOD_ANSWERS + 5):
        text = f"answer {number} about the bus"
        said, events, _ = run(questions.ActionSaveAnswer(),
                              tracker(slots={**slots, "answer_text": text}, message_id=f"f{number}"))
        slots["slowed_down"] = slot(events, "slowed_down") is True or slots.get("slowed_down")
        replies.append(said)
    assert replies[FLOOD_ANSWERS] == ["utter_slow_down"]
    assert all(said == [] for said in replies[FLOOD_ANSWERS + 1:])
    with app.sessions() as session:
        assert len(session.execute(select(Answer)).all()) == FLOOD_ANSWERS


def test_a_message_sent_a_while_after_slow_down_hears_it_again(app):
    from bot.conversation import FLOOD_ANSWERS

    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    for number in range(FLOOD_ANSWERS):
        run(questions.ActionSaveAnswer(), tracker(slots={"answer_text": f"answer {number}"},
                                                  message_id=f"f{number}"))
    said_at = {"event": "bot", "text": "Please slow down", "timestamp": 100.0,
               "metadata": {"utter_action": "utter_slow_down"}}
    for sent_at, expected in ((105.0, []), (111.0, ["utter_slow_down"])):
        events = [said_at, {"event": "user", "text": "again", "timestamp": sent_at}]
        said, _, _ = run(questions.ActionSaveAnswer(), tracker(
            slots={"answer_text": "again", "slowed_down": True}, message_id=f"again-{sent_at}",
            events=events))
        assert said == expected, sent_at


def test_a_huge_message_gets_a_clear_reply_and_is_not_stored(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(questions.ActionSaveAnswer(),
                          tracker(slots={"answer_text": "word " * 3000}, message_id="huge"))
    # Nothing was kept, so the question is asked again (not "add anything else?").
    assert said == ["utter_too_long"] and slot(events, "stage") == "question"
    assert {"event": "followup", "name": "answer_form", "timestamp": None} in events
    with app.sessions() as session:
        assert session.execute(select(Answer)).first() is None
    # Typed straight after "add anything else?", the answer before it stands: ask that again.
    said, events, _ = run(questions.ActionSaveMore(),
                          tracker(text="word " * 3000, slots={"stage": "add_more"}, message_id="huge2"))
    assert said == ["utter_too_long", "utter_ask_add_more"] and slot(events, "stage") == "add_more"
    # Sent to "What else do you want to tell us?": that is asked again, not the question.
    said, events, _ = run(questions.ActionSaveAnswer(), tracker(
        slots={"answer_text": "word " * 3000, "adding_more": True}, message_id="huge3"))
    assert said == ["utter_too_long"]
    assert [e["value"] for e in events if e.get("name") == "adding_more"][-1] is True


def test_a_new_consent_text_asks_again(app):
    import dataclasses

    run(welcome.ActionChooseSound(), tracker(intent="sound_off"))
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, _, _ = run(welcome.ActionWelcome(), tracker())
    assert said == ["utter_welcome_back"]
    app.engagement = dataclasses.replace(app.engagement, consent_version="2099-01")
    app.conversation.engagement = app.engagement
    said, events, _ = run(welcome.ActionWelcome(), tracker())
    assert said[-1] == "utter_ask_consent" and slot(events, "stage") == "consent"


def _answers(app):
    with app.sessions() as session:
        return [a.text for a in session.execute(select(Answer).order_by(Answer.id)).scalars()]


def _start(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    run(questions.ActionSaveAnswer(), tracker(intent="share", text="blue sky",
                                              slots={"answer_text": "blue sky"}))


def test_the_fallback_ends_its_turn_so_rasa_does_not_run_it_again(app):
    # With no rule for a message (here "I care for my brother" read as a role), Rasa runs
    # the fallback; it must end the turn itself, or Rasa runs it until its circuit breaker
    # trips and the participant gets no reply ever after.
    _start(app)
    at_add_more = {"stage": "add_more"}
    said, events, _ = run(control.ActionKindFallback(), tracker(
        intent="role_on_behalf", text="I care for my brother", slots=at_add_more, message_id="m2"))
    assert said == ["utter_reflect", *PICK_THEMES]
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}
    assert _answers(app) == ["blue sky", "I care for my brother"]


@pytest.mark.parametrize("text", ['/choose_theme{"theme":"purpose"}', "/nonsense_intent"])
def test_a_button_s_payload_is_never_stored_as_an_answer(app, text):
    _start(app)
    said, events, _ = run(control.ActionKindFallback(), tracker(
        intent="choose_theme", text=text, slots={"stage": "add_more"}, message_id="m2"))
    assert said == ["utter_not_understood", "utter_ask_add_more"]
    assert slot(events, "stage") == "add_more"
    form = questions.ValidateAnswerForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_answer_text(text, dispatcher, tracker(text=text), {}) == \
        {"answer_text": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_not_understood"]
    assert _answers(app) == ["blue sky"]


@pytest.mark.parametrize("action, intent", [(questions.ActionAddMore(), "affirm"),
                                            (questions.ActionNextQuestion(), "deny")])
def test_words_read_as_yes_or_no_after_add_more_are_kept_as_more_answer(app, action, intent):
    _start(app)
    said, events, _ = run(action, tracker(intent=intent, text="green grass", confidence=0.87,
                                          slots={"stage": "add_more"}, message_id="m3"))
    assert said == ["utter_reflect", *PICK_THEMES]
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "action_listen"
    assert _answers(app) == ["blue sky", "green grass"]


@pytest.mark.parametrize("text, intent", [("/affirm", "affirm"), ("yes please", "affirm"),
                                          ("Yeah!", "affirm"), ("nothing else", "deny"),
                                          ("noo", "deny"), ("/deny", "deny")])
def test_a_real_yes_or_no_after_add_more_moves_on(app, text, intent):
    _start(app)
    said, events, _ = run(questions.ActionAddMore() if intent == "affirm"
                          else questions.ActionNextQuestion(),
                          tracker(intent=intent, text=text, confidence=0.95,
                                  slots={"stage": "add_more"}, message_id="m4"))
    assert not any(e.get("event") == "followup" for e in events)
    assert "utter_reflect" not in said and _answers(app) == ["blue sky"]


@pytest.mark.parametrize("text, leaves", [
    ("I changed my mind about taking part", True),
    ("I want to stop taking part", True),
    ("I don't want to do the questions any more", True),
    # NLU's guess alone is not enough: the words must be the ones leaving uses, every one.
    ("my brother changed his job and the pay was better", False),
    ("I do not want to see him any more", False),
    ("I don't want to go to college any more", False),
    ("I don't want to do swimming any more", False),
])
def test_leaving_in_a_sentence_steers_the_chat_but_an_answer_stays_an_answer(text, leaves):
    from actions.common import is_command

    assert is_command(tracker(intent="withdraw_consent", text=text, confidence=0.95)) is leaves


@pytest.mark.parametrize("text, asks", [
    ("what do you know about me", True), ("show me my data", True),
    ("what data do you have on me", True), ("what about my day centre", False)])
def test_asking_for_ones_data_needs_its_words_and_an_answer_stays_an_answer(text, asks):
    from actions.common import is_command

    assert is_command(tracker(intent="my_data", text=text, confidence=0.95)) is asks


def test_words_typed_after_the_last_question_are_kept_with_it(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    for _ in app.engagement.questions:
        run(questions.ActionNextQuestion(), tracker(intent="deny"))
    done = {"stage": "done"}
    said, _, _ = run(control.ActionKindFallback(), tracker(
        intent="nlu_fallback", text="Oh and I forgot to say the buses are rubbish", slots=done,
        message_id="late-1"))
    assert said[0] == "utter_reflect"
    # A few words of thanks are not an answer.
    said, _, _ = run(control.ActionKindFallback(), tracker(intent="nlu_fallback", text="ok thanks",
                                                           slots=done, message_id="late-2"))
    assert said[0] == "utter_not_understood"
    with app.sessions() as session:
        kept = [(a.question_id, a.text) for a in session.execute(select(Answer)).scalars()]
    assert kept == [(app.engagement.questions[-1].id, "Oh and I forgot to say the buses are rubbish")]


def test_on_telegram_the_end_offers_news(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    for _ in app.engagement.questions[1:]:
        run(questions.ActionNextQuestion(), tracker(intent="deny"))
    on_telegram = Tracker("s1", {}, {"intent": {"name": "dont_know", "confidence": 0.99},
                                     "text": "I don't know", "metadata": {}},
                          [{"event": "user", "input_channel": "telegram"}], False, None, {},
                          "action_listen")
    said, _, _ = run(questions.ActionSkipQuestion(), on_telegram)
    assert said == ["utter_dont_know_ok_last", "utter_end_thanks", "utter_next_steps",
                    "utter_ask_later", "utter_contact", "utter_ask_updates"]


def test_a_guess_at_leaving_is_checked_before_consent_is_withdrawn(app):


    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    guess = tracker(intent="withdraw_consent", text="Can I just answer anyway?", confidence=0.42,
                    slots={"stage": "carer_agree"})
    said, events, dispatcher = run(data_rights.ActionWithdraw(), guess)
    assert said == ["utter_check_withdraw"]
    assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]
    check = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]["utter_check_withdraw"]
    assert [b["payload"] for b in check[0]["buttons"]] == ["/withdraw_consent", "/greet"]
    assert app.conversation.progress("s1").consented  # nothing changed
    # "No, carry on" says hello: they are taken back to the carer's question.
    said, events, _ = run(welcome.ActionWelcome(), tracker(intent="greet", text="/greet",
                                                           slots={"stage": "carer_agree"}))
    assert said == ["utter_welcome_back", "utter_ask_person_agrees"]
    # The button, or plain words NLU is sure of, do withdraw.
    for text in ("/withdraw_consent", "I don't want to take part any more"):
        said, events, _ = run(data_rights.ActionWithdraw(),
                              tracker(intent="withdraw_consent", text=text, confidence=0.97))
        assert said == ["utter_withdrawn_no_answers"] and slot(events, "stage") == "declined"
        assert not app.conversation.progress("s1").consented
        run(welcome.ActionGiveConsent(), tracker(intent="affirm"))


def test_leaving_in_other_words_at_a_question_is_the_answer(app):


    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, events, _ = run(data_rights.ActionWithdraw(),
                          tracker(intent="withdraw_consent", text="I don't want to go to college any more",
                                  confidence=0.97, active_loop="answer_form"))
    assert said == [] and events == []  # the question's form, next, keeps and screens the words
    assert app.conversation.progress("s1").consented


@pytest.mark.parametrize("text, confidence, asked", [
    ("I don't want to do this any more", 0.73, True),  # what the trained model gave it
    ("I dont want to do this anymore", 0.6, True),
    ("I don't want to do this any more", 0.3, False),  # too unsure even to ask: an answer
    ("I don't want to go to college any more", 0.73, False),  # not leaving's words: an answer
])
def test_leaving_words_nlu_is_unsure_of_are_asked_about_at_a_question(app, text, confidence, asked):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    at_question = tracker(intent="withdraw_consent", text=text, confidence=confidence,
                          active_loop="answer_form",
                          slots={"stage": "question", "requested_slot": "answer_text"})
    extracted = asyncio.run(questions.ValidateAnswerForm().extract_answer_text(
        CollectingDispatcher(), at_question, {}))
    assert extracted == ({} if asked else {"answer_text": text})
    said, events, _ = run(data_rights.ActionWithdraw(), at_question)
    if asked:  # "Do you want to stop taking part?": the form stays open for an answer instead
        assert said == ["utter_check_withdraw"]
        assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]
    else:
        assert said == [] and events == []
    assert app.conversation.progress("s1").consented  # nothing changed, nothing kept
    with app.sessions() as session:
        assert session.execute(select(Answer)).first() is None


def test_leaving_words_nlu_is_unsure_of_after_add_more_are_asked_about(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, events, _ = run(data_rights.ActionWithdraw(), tracker(
        intent="withdraw_consent", text="I don't want to do this any more", confidence=0.73,
        slots={"stage": "add_more"}))
    assert said == ["utter_check_withdraw"]
    assert app.conversation.progress("s1").consented
    with app.sessions() as session:
        assert session.execute(select(Answer)).first() is None


CHECKED = [{"event": "user", "text": "I dont want to do this anymore"},
           {"event": "bot", "text": "Do you want to stop taking part?",
            "metadata": {"utter_action": "utter_check_withdraw"}},
           {"event": "user", "text": "yes"}]


@pytest.mark.parametrize("typed, intent", [("yes", "affirm"), ("yes please", "affirm"),
                                           ("no", "deny"), ("no thanks", "deny")])
def test_a_typed_yes_or_no_to_the_leaving_check_at_a_question(app, typed, intent):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, events, _ = run(questions.ActionYesNoAtQuestion(), tracker(
        intent=intent, text=typed, events=CHECKED, active_loop="answer_form",
        slots={"stage": "question", "requested_slot": "answer_text"}))
    if intent == "affirm":
        assert said == ["utter_withdrawn_no_answers"] and slot(events, "stage") == "declined"
        assert not app.conversation.progress("s1").consented
    else:  # carry on: the question again, nothing changed
        assert said == ["utter_here_again"] and slot(events, "stage") == "question"
        assert app.conversation.progress("s1").consented


def test_a_typed_yes_or_no_to_the_leaving_check_after_add_more(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    run(questions.ActionSaveAnswer(), tracker(text="My friends", slots={"answer_text": "My friends"}))
    add_more = {"stage": "add_more"}
    said, events, _ = run(questions.ActionNextQuestion(), tracker(
        intent="deny", text="no", events=CHECKED, slots=add_more))
    assert said == ["utter_ask_add_more"] and slot(events, "stage") == "add_more"
    assert app.conversation.progress("s1").question_index == 0  # still the first question
    said, events, _ = run(questions.ActionAddMore(), tracker(
        intent="affirm", text="yes", events=CHECKED, slots=add_more))
    assert said == ["utter_withdrawn"] and slot(events, "stage") == "declined"
    # Without the check just before, yes and no mean what they always do.
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(questions.ActionAddMore(), tracker(intent="affirm", text="yes",
                                                               slots=add_more))
    assert slot(events, "adding_more") is True


def test_hello_after_start_again_asks_the_consent_question_again(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, events, _ = run(control.ActionStartAgain(), tracker(intent="start_again",
                                                              text="start again"))
    assert said[-1] == "utter_ask_consent" and slot(events, "stage") == "consent"
    said, events, _ = run(welcome.ActionWelcome(), tracker(intent="greet", text="hello",
                                                           slots={"stage": "consent"}))
    assert said == ["utter_ask_consent"] and slot(events, "stage") == "consent"
    # Yes: the role is asked anew, then the first question.
    said, events, _ = run(welcome.ActionGiveConsent(), tracker(intent="affirm", text="yes",
                                                               slots={"stage": "consent"}))
    assert said[-1] == "utter_ask_role"


def test_what_is_kept_is_only_spoken_of_when_there_is_something(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    said, _, _ = run(control.ActionStartAgain(), tracker(intent="start_again", text="start again"))
    assert said[0] == "utter_start_again_no_answers"
    said, _, _ = run(data_rights.ActionCancelDelete(), tracker(intent="deny", text="/deny",
                                                               slots={"stage_before_delete": "role"}))
    assert said[0] == "utter_delete_cancelled_chat"
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    run(questions.ActionSaveAnswer(), tracker(text="My friends", slots={"answer_text": "My friends"}))
    said, _, _ = run(control.ActionStartAgain(), tracker(intent="start_again", text="start again"))
    assert said[0] == "utter_start_again"
    said, _, _ = run(data_rights.ActionCancelDelete(), tracker(intent="deny", text="/deny",
                                                               slots={"stage_before_delete": "role"}))
    assert said[0] == "utter_delete_cancelled"
    said, _, _ = run(data_rights.ActionWithdraw(), tracker(intent="withdraw_consent", text="/withdraw_consent"))
    assert said == ["utter_withdrawn"]


def test_a_guess_at_leaving_after_add_more_is_kept_as_more_answer(app):


    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    text = "I stopped going to the club because I felt left out"
    said, events, _ = run(data_rights.ActionWithdraw(),
                          tracker(intent="withdraw_consent", text=text, confidence=0.55,
                                  slots={"stage": "add_more"}, message_id="m7"))
    assert "utter_check_withdraw" not in said and said[0] == "utter_reflect"
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}
    assert app.conversation.progress("s1").consented
    with app.sessions() as session:
        assert [a.text for a in session.execute(select(Answer)).scalars()] == [text]


@pytest.mark.parametrize("text", ["maybe", "ok", "Not sure", "😀🎉", "...", "hmm ok", "I dont know"])
def test_a_reply_to_add_more_with_no_answer_in_it_is_not_stored(app, text):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(questions.ActionSaveMore(),
                          tracker(text=text, slots={"stage": "add_more"}, message_id="f1"))
    assert said == ["utter_press_yes_or_no"] and slot(events, "stage") == "add_more"
    with app.sessions() as session:
        assert session.execute(select(Answer)).first() is None


@pytest.mark.parametrize("text", ["dogs", "maybe a job one day", "ok so my bus pass", "Mis amigos"])
def test_a_short_real_answer_after_add_more_is_kept(app, text):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, _, _ = run(questions.ActionSaveMore(),
                     tracker(text=text, slots={"stage": "add_more"}, message_id="f2"))
    assert said[0] == "utter_reflect"
    with app.sessions() as session:
        assert session.execute(select(Answer.text)).scalar_one() == text


def test_not_understood_asks_again_what_the_chat_waits_for(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    said, events, _ = run(control.ActionKindFallback(),
                          tracker(intent="nlu_fallback", text="hmm", slots={"stage": "carer_agree"}))
    assert said == ["utter_not_understood", "utter_ask_person_agrees"]
    assert events == [{"event": "rewind", "timestamp": None}]
    said, _, _ = run(control.ActionKindFallback(),
                     tracker(intent="nlu_fallback", text="hmm", slots={"stage": "safeguard"}))
    assert said == ["utter_not_understood", "utter_safeguarding_carry_on"]


@pytest.mark.parametrize("text, said", [
    ("yes he is happy", ["utter_carer_thanks"]), ("Yeah she's fine with it", ["utter_carer_thanks"]),
    ("no she is out today", ["utter_carer_ask_first"]),
    # A yes with a "not" in it is not a clear yes: asked again.
    ("yes but not today", ["utter_not_understood", "utter_ask_person_agrees"]),
])
def test_a_carer_s_yes_or_no_in_their_own_words(app, text, said):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    replies, events, _ = run(control.ActionKindFallback(),
                             tracker(intent="share", text=text, slots={"stage": "carer_agree"}))
    assert replies == said
    agreed = {"utter_carer_thanks": True, "utter_carer_ask_first": False}.get(said[0])
    assert app.conversation.progress("s1").person_agrees is agreed
    if agreed:
        assert slot(events, "stage") == "question"


def test_the_role_is_asked_again_after_start_again(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    # "start again", yes to taking part: the role question is open again, though one is known.
    said, events, dispatcher = run(welcome.ActionAskAgain(),
                                   tracker(intent="my_data", slots={"stage": "role"}))
    assert said == ["utter_ask_role"] and slot(events, "stage") == "role"


def test_hello_a_minute_later_is_not_welcomed_back(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    soon = [{"event": "user", "timestamp": 1000.0}, {"event": "user", "timestamp": 1060.0}]
    said, events, _ = run(welcome.ActionWelcome(), tracker(events=soon))
    assert said == [] and slot(events, "stage") == "question"  # the question follows
    later = [{"event": "user", "timestamp": 1000.0}, {"event": "user", "timestamp": 1000.0 + 3 * 3600}]
    said, _, _ = run(welcome.ActionWelcome(), tracker(events=later))
    assert said == ["utter_welcome_back"]
    run(control.ActionPause(), tracker(intent="stop"))  # "stop", then hello at once: a return
    said, _, _ = run(welcome.ActionWelcome(), tracker(events=soon))
    assert said == ["utter_welcome_back"]


@pytest.mark.parametrize("words, held, sound", [("My friends", False, False),
                                                ("someone hurts me at night", True, False),
                                                ("My friends", False, True),
                                                ("My friends", False, None)])
def test_deleting_tells_transports_the_chat_was_erased(app, words, held, sound):
    """sound None: never chosen, which a transport reads aloud as before any choice."""


    if sound is not None:
        app.conversation.set_sound("s1", sound)
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    run(questions.ActionSaveAnswer(), tracker(intent="share", text=words,
                                              slots={"answer_text": words}))
    said, events, dispatcher = run(data_rights.ActionDeleteMyData(),
                                   tracker(intent="affirm", text="/affirm",
                                           slots={"stage": "confirm_delete"}))
    assert said == (["utter_deletion_held", "utter_deleted_chat"] if held else ["utter_deleted"])
    assert slot(events, "stage") == "deleted"
    # Only the last message carries the sign, so a transport clears the chat before showing
    # every reply of this turn (the held notice too); the held answer stays for the lead. It
    # carries the sound choice too, which the erasure took: the goodbye is read aloud if wanted.
    assert [m.get("custom") or None for m in dispatcher.messages] == [None] * held + [
        {"erased": True, "sound": sound}]
    record = app.data_rights.record("s1")
    assert ([a["text"] for a in record["answers"]] if record else []) == ([words] if held else [])


def test_at_the_end_on_telegram_the_news_question_is_asked_again_until_answered(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    while app.conversation.next_question("s1") is not None:
        pass
    on_telegram = [{"event": "user", "text": "/sound_on", "input_channel": "telegram"}]
    said, _, _ = run(welcome.ActionAskAgain(), tracker(intent="sound_on", slots={"stage": "done"},
                                                        events=on_telegram))
    assert said == ["utter_ask_updates"]
    said, _, _ = run(welcome.ActionAskAgain(), tracker(intent="sound_on", slots={"stage": "done"}))
    assert said == []  # REST cannot send news: nothing was asked
    app.conversation.set_updates("s1", False)
    said, _, _ = run(welcome.ActionAskAgain(), tracker(intent="sound_on", slots={"stage": "done"},
                                                        events=on_telegram))
    assert said == []


def test_help_at_the_end_says_all_the_questions_are_answered_not_the_last_turn_again(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    while app.conversation.next_question("s1") is not None:
        pass
    events = [{"event": "user", "text": "What happened to my answers?"},
              {"event": "bot", "text": "You told us 2 things."},
              {"event": "user", "text": "help"}]
    said, _, _ = run(control.ActionRepeat(), tracker(intent="help", text="help", events=events,
                                                     slots={"stage": "done"}))
    assert said == ["utter_already_done"]


def test_not_understood_at_the_delete_question_asks_it_again(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, _, _ = run(control.ActionKindFallback(), tracker(intent="nlu_fallback", text="maybe",
                                                          slots={"stage": "confirm_delete"}))
    assert said == ["utter_not_understood", "utter_ask_delete_chat"]  # no answers kept


@pytest.mark.parametrize("text, intent, action", [
    ("Yes, delete them", "delete_my_data", "action_delete_my_data"),  # the button's title typed
    ("delete them", "delete_my_data", "action_delete_my_data"),
    ("No, don't delete them", "delete_my_data", "action_cancel_delete"),
    ("keep them", "nlu_fallback", "action_cancel_delete"),
    ("no keep them please", "nlu_fallback", "action_cancel_delete"),
])
def test_typed_replies_to_the_delete_question(app, text, intent, action):


    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    runner = data_rights.ActionAskDelete() if intent == "delete_my_data" else control.ActionKindFallback()
    said, events, _ = run(runner, tracker(intent=intent, text=text,
                                          slots={"stage": "confirm_delete",
                                                 "stage_before_delete": "question"}))
    assert said == [] and events == [{"event": "followup", "name": action, "timestamp": None}]


def test_asking_to_delete_again_keeps_where_the_chat_was(app):


    said, events, _ = run(data_rights.ActionAskDelete(), tracker(
        intent="delete_my_data", text="/delete_my_data",
        slots={"stage": "confirm_delete", "stage_before_delete": "add_more"}))
    assert said == ["utter_ask_delete_chat"]
    assert slot(events, "stage_before_delete") == "unset"  # still add_more


def test_deleting_with_no_answers_kept_is_about_the_chat(app):
    """'Do you want us to delete your answers?' to someone who gave none was a puzzle: they
    are asked about the chat, and told the chat is deleted; with an answer, about answers."""


    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_self"))
    ask = tracker(intent="delete_my_data", text="/delete_my_data", slots={"stage": "question"})
    assert run(data_rights.ActionAskDelete(), ask)[0] == ["utter_ask_delete_chat"]
    said, _, _ = run(data_rights.ActionDeleteMyData(), tracker(
        intent="affirm", text="/affirm", slots={"stage": "confirm_delete"}))
    assert said == ["utter_deleted_chat"]
    run(welcome.ActionGiveConsent(), tracker(sender="s2", intent="affirm"))
    run(welcome.ActionSetRole(), tracker(sender="s2", intent="role_self"))
    run(questions.ActionSaveAnswer(), tracker(sender="s2", intent="share", text="My friends",
                                              slots={"answer_text": "My friends"}))
    asked = tracker(sender="s2", intent="delete_my_data", text="/delete_my_data",
                    slots={"stage": "add_more"})
    assert run(data_rights.ActionAskDelete(), asked)[0] == ["utter_ask_delete"]


@pytest.mark.parametrize("action, intent, text, said", [
    (control.ActionKindFallback(), "nlu_fallback", "I want to tell you about my life", ["utter_ask_sound"]),
    (control.ActionRepeat(), "help", "help", ["utter_ask_sound"]),  # after the rule's utter_help
    (welcome.ActionSetSound(), "sound_on", "sound on",
     ["utter_sound_on", "utter_welcome", "utter_purpose", "utter_remit", "utter_privacy",
      "utter_ask_consent"]),
    (control.ActionPause(), "stop", "stop", ["utter_pause_not_started"]),
])
def test_a_first_message_that_is_not_hello_leads_into_the_chat(app, action, intent, text, said):
    got, events, _ = run(action, tracker(intent=intent, text=text))
    assert got == said
    if intent != "stop":
        assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


@pytest.mark.parametrize("text, said", [
    ("what does that mean?", ["utter_explain_question"]),
    ("Can you explain", ["utter_explain_question"]),
    ("huh?", ["utter_explain_question"]),
    ("5", ["utter_answer_in_words"]),
    ("?!", ["utter_answer_in_words"]),
    ("😀", []),  # a picture is an answer
    ("I do not understand why people are rude", []),
    ("24/7 support", []),
])
def test_a_question_about_the_question_or_a_bare_number_is_not_an_answer(text, said):
    dispatcher = CollectingDispatcher()
    result = questions.ValidateAnswerForm().validate_answer_text(text, dispatcher, tracker(), {})
    assert [m["response"] for m in dispatcher.messages] == said
    assert result == {"answer_text": None if said else text}


def test_they_will_answer_for_themselves_says_the_questions_are_for_them_now(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    said, events, _ = run(welcome.ActionSetRole(), tracker(intent="role_self", text="/role_self",
                                                          slots={"stage": "carer_agree"}))
    assert said == ["utter_they_answer_now"] and slot(events, "stage") == "question"
    assert app.conversation.progress("s1").role == "self"
    said, _, _ = run(welcome.ActionSetRole(), tracker(intent="role_self", slots={"stage": "role"}))
    assert said == []  # answering for themselves from the start: straight to the question


def test_several_held_answers_are_counted_when_deleting(app):


    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    for number, words in enumerate(["my carer hits me", "he locks me in my room at night",
                                    "she takes my money and I never see it", "I like swimming"]):
        run(questions.ActionSaveAnswer(), tracker(slots={"answer_text": words},
                                                  message_id=f"m{number}"))
    said, _, dispatcher = run(data_rights.ActionDeleteMyData(), tracker(intent="affirm"))
    assert said == ["utter_deletion_held_many", "utter_deleted_others"]
    assert dispatcher.messages[0]["count"] == "3"


def test_no_more_news_forgets_the_address_to_send_it_to(app):
    from bot.store.models import Contact

    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    app.conversation.set_updates("s1", True)
    app.conversation.set_contact("s1", channel="telegram", address="1002")
    said, _, _ = run(control.ActionSetUpdates(), tracker(intent="stop_updates", text="/stop_updates",
                                                         slots={"stage": "done"}))
    assert said == ["utter_updates_no"]
    with app.sessions() as session:
        assert session.execute(select(Contact)).first() is None
    record = app.data_rights.record("s1")
    assert record["contact"] is None and record["participant"]["wants_updates"] is False


@pytest.mark.parametrize("stage, text", [("add_more", "and we get ice cream"),
                                         ("theme_check", "and we get ice cream"),
                                         ("add_more", "and we go to the park later")])
def test_words_of_an_answer_read_as_stop_are_not_a_pause(app, stage, text):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(questions.ActionSaveAnswer(), tracker(
        slots={"answer_text": "I like going to the park with my dog"}, message_id="m1"))
    slots = {"stage": stage}
    if stage == "theme_check":
        slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
    said, events, _ = run(control.ActionPause(), tracker(
        intent="stop", text=text, slots=slots, message_id="m2", confidence=0.9))
    assert "utter_pause" not in said
    assert _answers(app) == ["I like going to the park with my dog", text]
    assert app.conversation.progress("s1").status != "paused"


@pytest.mark.parametrize("text", ["stop", "can we stop now please", "I am tired now, bye"])
def test_a_stop_in_other_words_still_pauses(app, text):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, _, _ = run(control.ActionPause(), tracker(intent="stop", text=text,
                                                    slots={"stage": "add_more"}))
    assert said == ["utter_pause_no_answers"]  # nothing answered yet: no "We have kept your answers"


@pytest.mark.parametrize("action, intent, stage, active_loop, follow", [
    (control.ActionRepeat(), "repeat", "theme_check", None, "action_kind_fallback"),
    (control.ActionRepeat(), "help", "role", None, "action_kind_fallback"),
    (control.ActionStartAgain(), "start_again", "question", "answer_form", None),
    (control.ActionPrivacy(), "ask_privacy", "theme_pick", None, "action_kind_fallback"),
    (data_rights.ActionMyData(), "my_data", "question", "answer_form", None),
])
def test_a_command_nlu_only_guessed_is_what_the_words_are_at_that_step(app, action, intent, stage,
                                                                       active_loop, follow):
    """"the park" read as "say that again" (0.56): not a repeat, not a restart."""
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    said, events, _ = run(action, tracker(intent=intent, text="the park", confidence=0.56,
                                          slots={"stage": stage}, active_loop=active_loop))
    assert said == []  # the kind fallback, or the question's form, decides what they are
    assert [e.get("name") for e in events if e.get("event") == "followup"] == ([follow] if follow else [])
    assert app.conversation.progress("s1").consented  # nothing was started again


@pytest.mark.parametrize("text, agrees, said", [
    ("not yet, I need to ask him", False, ["utter_carer_ask_first"]),
    ("yes he is happy", True, ["utter_carer_thanks"])])
def test_a_carers_yes_or_no_that_nlu_read_as_harm_answers_the_question(app, text, agrees, said):
    """NLU read "not yet, I need to ask him" as a disclosure (0.85): at the carer's question a
    clear yes or no is its answer, and only its words are screened, so no alert is raised."""
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    said_now, events, _ = run(control.ActionSafeguarding(),
                              tracker(intent="disclose_harm", text=text, confidence=0.85,
                                      slots={"stage": "carer_agree"}))
    assert said_now == said
    assert app.conversation.progress("s1").person_agrees is agrees
    with app.sessions() as session:
        assert session.execute(select(SafeguardingAlert)).all() == []


def test_a_carers_no_that_discloses_harm_is_still_screened(app):
    run(welcome.ActionGiveConsent(), tracker(intent="affirm"))
    run(welcome.ActionSetRole(), tracker(intent="role_on_behalf"))
    said, _, _ = run(control.ActionSafeguarding(),
                     tracker(intent="disclose_harm", text="no, his brother hits him", confidence=0.9,
                             slots={"stage": "carer_agree"}))
    assert any(name.startswith("utter_safeguarding") for name in said)
    with app.sessions() as session:
        assert len(session.execute(select(SafeguardingAlert)).all()) == 1
