"""A disclosure is kept, flagged, alerted at once and answered with the calm script; the lead
records what was done."""
import asyncio
import smtpd  # noqa: F401 - deprecated but present on Python 3.10; a real SMTP peer for tests
import asyncore
import threading

import pytest
from click.testing import CliRunner
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import control, questions, welcome
from tests.conversation.conftest import PICK_THEMES
from bot.app import build_services, use_services
from bot.cli import main
from bot.safeguarding.alerts import EmailRoute
from bot.store.migrate import upgrade
from bot.store.models import Answer, AuditEntry, SafeguardingAlert
from tests.conftest import free_port

SCRIPT = ["utter_safeguarding_thanks", "utter_safeguarding_next", "utter_safeguarding_danger",
          "utter_safeguarding_local"]
# A carer is told that 999 is for them or the person they care for.
CARER_SCRIPT = ["utter_safeguarding_thanks", "utter_safeguarding_next",
                "utter_safeguarding_danger_carer", "utter_safeguarding_local"]


def tracker(text, *, intent="share", slots=None, message_id="m1", ranking=None):
    latest = {"intent": {"name": intent, "confidence": 0.9}, "text": text,
              "message_id": message_id, "metadata": {}, "entities": [],
              "intent_ranking": ranking or []}
    return Tracker("s1", slots or {}, latest, [], False, None, {}, "action_listen")


def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    return [m.get("response") for m in dispatcher.messages], events


def wait_for_alerts(seconds: float = 20) -> None:
    """Wait for alerts being delivered in the background."""
    for thread in threading.enumerate():
        if thread.name.startswith("alert-"):
            thread.join(seconds)


def consented(app):
    run(welcome.ActionGiveConsent(), tracker("/affirm", intent="affirm"))
    run(welcome.ActionSetRole(), tracker("/role_on_behalf", intent="role_on_behalf"))


def test_a_disclosure_in_an_answer_gets_the_calm_script_and_is_flagged(app):
    consented(app)
    words = "She comes home from the day centre with bruises and she is scared of one of the staff"
    said, events = run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    assert said == CARER_SCRIPT + ["utter_safeguarding_carry_on"]
    assert {"event": "slot", "name": "stage", "value": "safeguard"} in \
        [{k: e[k] for k in ("event", "name", "value")} for e in events if e["event"] == "slot"]
    with app.sessions() as session:
        answer = session.execute(select(Answer)).scalar_one()
        alert = session.execute(select(SafeguardingAlert)).scalar_one()
    assert answer.flagged and answer.text == words
    assert alert.text == words and alert.answer_id == answer.id and alert.role == "on_behalf"
    assert alert.status == "open"


def test_an_ordinary_answer_is_not_flagged(app):
    consented(app)
    said, _ = run(questions.ActionSaveAnswer(),
                  tracker("I feel safe at home with my staff",
                          slots={"answer_text": "I feel safe at home with my staff"}))
    assert said == ["utter_reflect", *PICK_THEMES]
    with app.sessions() as session:
        assert session.execute(select(SafeguardingAlert)).first() is None
        assert session.execute(select(Answer.flagged)).scalar_one() is False


def test_a_disclosure_outside_the_questions_still_alerts(app):
    said, _ = run(control.ActionSafeguarding(), tracker("i dont want to be here any more",
                                                        intent="disclose_harm"))
    assert said == SCRIPT + ["utter_start_when_ready"]
    with app.sessions() as session:
        alert = session.execute(select(SafeguardingAlert)).scalar_one()
    assert alert.participant_id is not None and alert.text == "i dont want to be here any more"


def test_a_disclosure_as_the_very_first_message_belongs_to_the_person(app):
    """Before any consent, the words are still theirs: they see them in their record, and a
    request to delete them waits for the lead."""
    from actions import data_rights

    words = "he hits me every day"
    said, _ = run(control.ActionSafeguarding(), tracker(words, intent="disclose_harm"))
    assert said == SCRIPT + ["utter_start_when_ready"]  # and a way on, when they are ready
    assert [m["text"] for m in app.data_rights.record("s1")["kept_for_safety_lead"]] == [words]
    said, _ = run(data_rights.ActionMyData(), tracker("what do you know about me", intent="my_data"))
    assert "utter_my_data_for_lead_one" in said and "utter_my_data_none" not in said
    said, _ = run(data_rights.ActionDeleteMyData(), tracker("/affirm", intent="affirm",
                                                            slots={"stage": "confirm_delete"}))
    assert said[0] == "utter_deletion_held"
    with app.sessions() as session:
        alert = session.execute(select(SafeguardingAlert)).scalar_one()
    assert alert.text == words and alert.status == "open"


def _alert_texts(app):
    with app.sessions() as session:
        return [a.text for a in session.execute(select(SafeguardingAlert).order_by(SafeguardingAlert.id)).scalars()]


def test_after_a_false_alarm_is_dismissed_erasure_leaves_no_copy_of_the_words(app):
    from bot.safeguarding.alerts import ERASED_TEXT

    consented(app)
    words = "my daughter's carer slapped her"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    assert app.alerts.resolve(1, by="Sam", action="dismiss", note="a game they play")[0] == "back"
    assert app.data_rights.erase("s1", background=False).answers_held == 0
    assert _alert_texts(app) == [ERASED_TEXT]  # the decision is kept, the words are not


def test_a_message_held_for_the_lead_is_erased_once_the_lead_dismisses_it(app):
    from bot.safeguarding.alerts import ERASED_TEXT

    words = "he hits me every day"  # the very first message: not an answer
    run(control.ActionSafeguarding(), tracker(words, intent="disclose_harm"))
    assert app.data_rights.erase("s1", background=False).answers_held == 1  # waits for the lead
    assert _alert_texts(app) == [words]
    assert app.alerts.resolve(1, by="Sam", action="dismiss", note="a film") == ("erased", None)
    assert _alert_texts(app) == [ERASED_TEXT]
    assert app.data_rights.record("s1") is None  # nothing of theirs is left


def test_the_purge_takes_the_words_of_dismissed_alerts_with_the_person(app):
    from datetime import timedelta

    from bot.safeguarding.alerts import PURGED_TEXT
    from bot.store.models import Answer, Participant

    consented(app)
    words = "the staff shouted at my son"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    app.alerts.resolve(1, by="Sam", action="dismiss", note="a one-off, sorted")
    with app.sessions.begin() as session:  # nothing from them for 400 days: record nor answers
        for person in session.execute(select(Participant)).scalars():
            person.updated_at = person.updated_at - timedelta(days=400)
        for answer in session.execute(select(Answer)).scalars():
            answer.created_at = answer.created_at - timedelta(days=400)
    result = app.data_rights.purge(timedelta(days=365), dry_run=False, actor="test",
                                   delete_old_events=lambda cutoff, dry: 0)
    assert result.participants == 1 and _alert_texts(app) == [PURGED_TEXT]


def test_the_same_disclosure_sent_twice_raises_one_alert(app):
    consented(app)
    run(welcome.ActionPersonAgrees(), tracker("/affirm", intent="affirm"))
    words = "my neighbour steals my post and shouts at me"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    for message_id in ("m2", "m3"):  # sent again at "Do you want to carry on?"
        said, _ = run(control.ActionSafeguarding(), tracker(words, intent="disclose_harm",
                                                            slots={"stage": "safeguard"},
                                                            message_id=message_id))
        assert said[-1] == "utter_safeguarding_carry_on"
    with app.sessions() as session:
        alerts = session.execute(select(SafeguardingAlert)).scalars().all()
    assert len(alerts) == 1


def test_nlu_confidence_tips_a_borderline_message(app):
    ranking = [{"name": "disclose_harm", "confidence": 0.95}]
    said, _ = run(control.ActionKindFallback(), tracker("he does stuff i dont like",
                                                        intent="nlu_fallback", ranking=ranking))
    assert said == SCRIPT + ["utter_start_when_ready"]


def test_nlu_confidence_alone_does_not_flag_an_ordinary_message(app):
    ranking = [{"name": "disclose_harm", "confidence": 0.94}]
    said, _ = run(control.ActionKindFallback(), tracker("my cakes", intent="disclose_harm",
                                                        ranking=ranking, slots={"stage": "done"}))
    assert said == ["utter_not_understood"]


class Inbox(smtpd.SMTPServer):
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), None)
        self.messages = []

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.messages.append((rcpttos, data.decode() if isinstance(data, bytes) else data))


def test_the_lead_gets_an_email_at_once_and_its_delivery_is_recorded(settings):
    port = free_port()
    inbox = Inbox(port)
    loop = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1}, daemon=True)
    loop.start()
    upgrade(settings.database_url)
    services = build_services(settings)
    services.alerts._routes = [EmailRoute(to_address="lead@example.org", host="127.0.0.1",
                                          port=port)]
    use_services(services)
    try:
        consented(services)
        words = "my carer hits me when nobody is looking"
        run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
        wait_for_alerts()
    finally:
        use_services(None)
        inbox.close()
    assert inbox.messages and inbox.messages[0][0] == ["lead@example.org"]
    assert "Safeguarding alert" in inbox.messages[0][1]
    assert words not in inbox.messages[0][1]  # the words stay in the store, not in e-mail
    with services.sessions() as session:
        alert = session.execute(select(SafeguardingAlert)).scalar_one()
        assert alert.delivered_at is not None and alert.delivery_error is None


def test_an_alert_with_no_route_is_recorded_as_not_delivered(app):
    consented(app)
    words = "he takes all my money and says he will hurt me"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    wait_for_alerts()
    with app.sessions() as session:
        assert "no alert route" in session.execute(select(SafeguardingAlert)).scalar_one().delivery_error


def test_the_lead_lists_and_resolves_alerts_with_an_audit_trail(app, settings):
    consented(app)
    words = "someone hurts me at night"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    runner = CliRunner()
    base = ["--database-url", settings.database_url]
    env = {"COPRODUCE_VAR_DIR": str(settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"}
    listed = runner.invoke(main, base + ["safeguarding", "list"], env=env)
    assert listed.exit_code == 0 and words in listed.output and "#1" in listed.output
    done = runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "Sam Lead",
                                       "--action", "report", "--note", "Reported to the team"],
                         env=env)
    assert done.exit_code == 0, done.output
    missing = runner.invoke(main, base + ["safeguarding", "resolve", "99", "--by", "Sam",
                                          "--action", "record", "--note", "x"], env=env)
    assert missing.exit_code == 1 and "no safeguarding alert 99" in missing.output
    with app.sessions() as session:
        alert = session.execute(select(SafeguardingAlert)).scalar_one()
        audit = [(a.actor, a.action) for a in session.execute(select(AuditEntry)).scalars()]
    assert (alert.status, alert.resolved_by, alert.resolved_action) == ("resolved", "Sam Lead", "report")
    assert ("Sam Lead", "safeguarding_resolve") in audit
    assert any(action == "safeguarding_list" for _, action in audit)


@pytest.fixture
def telegram_lead(settings):
    """Services whose only alert route is the lead's Telegram chat 424242 on a fake Bot API:
    (the fake API, the services), in use by the actions."""
    import dataclasses

    from bot.app import alert_routes
    from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

    api = FakeBotApi().start()
    try:
        upgrade(settings.database_url)
        settings = dataclasses.replace(settings, telegram_bot_token=TOKEN,
                                       telegram_base_url=api.url)
        services = build_services(settings)
        engagement = dataclasses.replace(services.engagement, alert_telegram_chat_id="424242")
        services.alerts._routes = alert_routes(settings, engagement)
        assert [route.name for route in services.alerts._routes] == ["telegram"]
        use_services(services)
        consented(services)
        yield api, services
    finally:
        use_services(None)
        api.stop()


def test_the_lead_gets_a_telegram_message_through_the_bot_api(telegram_lead):
    api, services = telegram_lead
    words = "my brother takes my money and hits me"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    wait_for_alerts()
    sent = api.calls_to("sendMessage", chat_id=424242)
    assert len(sent) == 1 and "Safeguarding alert 1" in sent[0].params["text"]
    assert words not in sent[0].params["text"]
    with services.sessions() as session:
        assert session.execute(select(SafeguardingAlert)).scalar_one().delivered_at is not None


def test_after_a_disclosure_stop_then_hello_goes_on_to_the_next_question(app):
    consented(app)
    run(welcome.ActionPersonAgrees(), tracker("/affirm", intent="affirm"))
    words = "He gets scared when staff shout at him and lock him in his room"
    said, _ = run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    assert said[-1] == "utter_safeguarding_carry_on"
    run(control.ActionPause(), tracker("/stop", intent="stop", slots={"stage": "safeguard"}))
    assert app.conversation.progress("s1").question_index == 1  # not the same question again


def test_a_support_worker_is_told_999_is_for_them_or_a_person_they_support(app):
    run(welcome.ActionGiveConsent(), tracker("/affirm", intent="affirm"))
    run(welcome.ActionSetRole(), tracker("/role_support_worker", intent="role_support_worker"))
    words = "one of the people I support told me her dad hits her"
    said, _ = run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    assert said == ["utter_safeguarding_thanks", "utter_safeguarding_next",
                    "utter_safeguarding_danger_support_worker", "utter_safeguarding_local",
                    "utter_safeguarding_carry_on"]


def test_a_disclosure_in_the_last_answer_ends_kindly_without_asking_to_carry_on(app):
    consented(app)
    run(welcome.ActionPersonAgrees(), tracker("/affirm", intent="affirm"))
    last = len(app.engagement.questions) - 1
    for _ in range(last):
        app.conversation.next_question("s1")
    words = "my support worker hits me"
    said, events = run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    assert said[:len(CARER_SCRIPT)] == CARER_SCRIPT
    assert "utter_safeguarding_carry_on" not in said
    assert [e["value"] for e in events if e.get("name") == "stage"] == ["done"]
    assert app.conversation.progress("s1").status == "finished"


def test_a_second_disclosure_at_carry_on_is_kept_for_the_lead_and_carry_on_is_asked_again(app):
    from actions import data_rights

    consented(app)
    run(welcome.ActionPersonAgrees(), tracker("/affirm", intent="affirm"))
    words = "my uncle touches me and I do not like it"
    said, _ = run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    assert said[-1] == "utter_safeguarding_carry_on"
    more = "and he says he will hurt me if I tell"
    said, _ = run(control.ActionSafeguarding(), tracker(more, intent="disclose_harm",
                                                        slots={"stage": "safeguard"}))
    assert said == CARER_SCRIPT + ["utter_safeguarding_carry_on"]  # the way on, again
    record = app.data_rights.record("s1")
    assert [a["text"] for a in record["answers"]] == [words]
    assert [m["text"] for m in record["kept_for_safety_lead"]] == [more]
    said, _ = run(data_rights.ActionMyData(), tracker("what do you know about me", intent="my_data",
                                                      slots={"stage": "safeguard"}))
    assert "utter_my_data_for_lead_one" in said


def test_an_alert_that_fails_to_reach_the_lead_is_tried_again(telegram_lead):
    """One error from the Bot API (a 500) must not lose the alert: the route is tried again
    until it is delivered."""
    api, services = telegram_lead
    services.alerts._retry_delays = (0.2, 0.2, 0.2)
    api.fail_next("sendMessage", status=500, times=2)
    words = "Staff at my house hit me when I do not eat my dinner"
    run(questions.ActionSaveAnswer(), tracker(words, slots={"answer_text": words}))
    wait_for_alerts()
    sent = api.calls_to("sendMessage", chat_id=424242)
    assert len(sent) == 3  # two failures, then delivered once
    with services.sessions() as session:
        alert = session.execute(select(SafeguardingAlert)).scalar_one()
        assert alert.delivered_at is not None and alert.delivery_error is None
