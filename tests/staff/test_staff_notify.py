"""`coproduce notify` through a fake Telegram Bot API: once per revision, opt-out honoured."""
from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.readability import check
from bot.staff.cli import actions, notify
from bot.staff.notify import STOP_UPDATES_PAYLOAD, UpdateWording, send_updates
from bot.staff.telegram_notifier import TelegramNotifier
from bot.store import staff_queries
from bot.store.models import Notification, Participant, StaffAction
from tests.staff.staff_data import PENDING_UPDATE_RESPONSES

STOP_BUTTON = [[{"text": "Stop these messages", "callback_data": "/stop_updates"}]]
INTRO = "Hello. We have news about what you told us."
OUTRO = "You can stop these messages at any time. Press the button below."
X1 = "🛡️ Being safe\nWe will put more lights on the street. We have not started yet."
X2 = "⭐ Having a purpose\nWe will find more day trips. We are doing this now."
X3 = "🤝 Friends\nWe started a club on Fridays. We have done this."
NOTHING_TO_SEND = "Nothing to send: nobody is waiting for news of these changes."


def message(*items):
    return "\n\n".join([INTRO, *items, OUTRO])


@pytest.fixture
def telegram_settings(fake_api):
    """A function giving the world's settings pointed at the fake Bot API."""
    def make(world):
        return dataclasses.replace(world.settings, telegram_bot_token=fake_api.token,
                                   telegram_base_url=fake_api.url)
    return make


def run_notify(settings, domain, *options):
    return CliRunner(mix_stderr=False).invoke(
        notify, ["--domain", str(domain), "--by", "tester", *options], obj=settings,
        catch_exceptions=False)


def sent(fake_api):
    """(chat id, text, buttons) of every message the fake Bot API was asked to send, in order."""
    return [(call.params["chat_id"], call.params["text"],
             (call.params.get("reply_markup") or {}).get("inline_keyboard"))
            for call in fake_api.calls_to("sendMessage") if call.status == 200]


def test_sends_once_per_revision_and_honours_opt_out(world, fake_api, telegram_settings,
                                                     update_domain):
    """News goes once to each participant who asked, about their own themes; never twice."""
    settings = telegram_settings(world)
    result = run_notify(settings, update_domain)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Sent 2 update message(s)."
    # cara said no, dan left no contact, eve never said yes: none of them hear anything
    assert sent(fake_api) == [(1001, message(X3, X2, X1), STOP_BUTTON),
                              (1002, message(X1), STOP_BUTTON)]
    for _, text, _ in sent(fake_api):
        assert check(text).ok, check(text).problems

    result = run_notify(settings, update_domain)
    assert result.stdout.splitlines() == [NOTHING_TO_SEND]
    assert len(sent(fake_api)) == 2

    runner = CliRunner(mix_stderr=False)
    runner.invoke(actions, ["update", str(world.actions["x1"]), "--text",
                            "We put more lights on the street.", "--status", "done"],
                  obj=settings, catch_exceptions=False)
    new_x1 = "🛡️ Being safe\nWe put more lights on the street. We have done this."
    run_notify(settings, update_domain)
    assert sent(fake_api)[2:] == [(1001, message(new_x1), STOP_BUTTON),
                                  (1002, message(new_x1), STOP_BUTTON)]

    with world.session() as session:  # bob presses "Stop these messages"
        session.execute(update(Participant).where(Participant.pseudonym == "pseud-bob")
                        .values(wants_updates=False))
        session.commit()
    runner.invoke(actions, ["update", str(world.actions["x1"]), "--text",
                            "We put lights on two streets."], obj=settings, catch_exceptions=False)
    run_notify(settings, update_domain)
    assert [chat for chat, _, _ in sent(fake_api)[4:]] == [1001]

    with world.session() as session:
        rows = session.execute(select(Notification.participant_id, Notification.action_id,
                                      Notification.revision, Notification.sent_at)).all()
        audits = [json.loads(e.detail) for e in staff_queries.audit_entries(session,
                                                                            action="notify")]
    alice, bob = world.participants["pseud-alice"], world.participants["pseud-bob"]
    x1, x2, x3 = (world.actions[k] for k in ("x1", "x2", "x3"))
    assert sorted(row[:3] for row in rows) == sorted([
        (alice, x1, 1), (alice, x2, 1), (alice, x3, 1), (bob, x1, 1),
        (alice, x1, 2), (bob, x1, 2), (alice, x1, 3)])
    assert all(staff_queries.as_utc(row[3]) != staff_queries.PENDING_SENT_AT for row in rows)
    assert [audit["sent"] for audit in audits] == [2, 0, 2, 1]


def test_dry_run_sends_nothing(sqlite_world, fake_api, telegram_settings, update_domain):
    result = run_notify(telegram_settings(sqlite_world), update_domain, "--dry-run")
    assert result.exit_code == 0
    assert "--- to pseud-alice\n" + message(X3, X2, X1) + "\n[Stop these messages]" in result.stdout
    assert result.stdout.splitlines()[-1] == "Dry run: 2 message(s) would be sent."
    assert fake_api.calls_to("sendMessage") == []
    with sqlite_world.session() as session:
        assert session.execute(select(Notification)).all() == []
        assert staff_queries.audit_entries(session) == []


def test_refused_message_is_tried_again_next_run(sqlite_world, fake_api, telegram_settings,
                                                 update_domain):
    """A message Telegram refused (a flood wait too long to wait out) was not sent: its claim
    is released for the next run."""
    settings = telegram_settings(sqlite_world)
    fake_api.fail_next("sendMessage", status=429, retry_after=120)
    result = run_notify(settings, update_domain)
    assert "Sent 1 update message(s)." in result.stdout
    assert "Not delivered to pseud-alice (will be tried again next time)" in result.stdout
    assert [chat for chat, _, _ in sent(fake_api)] == [1002]
    run_notify(settings, update_domain)
    assert [chat for chat, _, _ in sent(fake_api)] == [1002, 1001]
    run_notify(settings, update_domain)
    assert len(sent(fake_api)) == 2


def test_unknown_outcome_is_not_sent_twice(sqlite_world, fake_api, telegram_settings,
                                           update_domain):
    """A bad gateway leaves the outcome unknown: the next run reports it and does not resend."""
    settings = telegram_settings(sqlite_world)
    fake_api.fail_next("sendMessage", status=502)
    result = run_notify(settings, update_domain)
    assert "May not have arrived at pseud-alice (not sent again)" in result.stdout
    result = run_notify(settings, update_domain)
    assert result.stdout.splitlines()[0].startswith(
        "1 update message(s) from an earlier run may not have arrived, and are not sent again.")
    assert [chat for chat, _, _ in sent(fake_api)] == [1002]
    # The dry run shows what the real run will send again.
    result = run_notify(settings, update_domain, "--resend-unconfirmed", "--dry-run")
    assert result.stdout.splitlines()[-1] == "Dry run: 1 message(s) would be sent."
    assert [chat for chat, _, _ in sent(fake_api)] == [1002]
    result = run_notify(settings, update_domain, "--resend-unconfirmed")
    assert "Sending 1 unconfirmed update message(s) again." in result.stdout
    assert [chat for chat, _, _ in sent(fake_api)] == [1002, 1001]


class CrashAfterSending:
    """Delivers through the real notifier, then dies as a killed process would."""

    channel = "telegram"

    def __init__(self, notifier):
        self.notifier = notifier

    def send(self, address, message):
        self.notifier.send(address, message)
        raise SystemExit("killed after sending")


def test_crash_between_sending_and_recording(sqlite_world, fake_api, telegram_settings,
                                             update_domain):
    """A crash after sending leaves a pending record: never sent twice, and reported."""
    settings = telegram_settings(sqlite_world)
    services = sqlite_world.services
    with TelegramNotifier(fake_api.token, fake_api.url) as notifier, pytest.raises(SystemExit):
        send_updates(services.sessions, services.engagement, UpdateWording(update_domain),
                     {"telegram": CrashAfterSending(notifier)}, actor="tester")
    assert [chat for chat, _, _ in sent(fake_api)] == [1001]
    with sqlite_world.session() as session:
        assert len(staff_queries.unconfirmed_notifications(session)) == 3
    result = run_notify(settings, update_domain)
    assert "1 update message(s) from an earlier run may not have arrived" in result.stdout
    assert [chat for chat, _, _ in sent(fake_api)] == [1001, 1002]


def test_bad_token_is_one_line_and_claims_nothing(sqlite_world, fake_api, update_domain):
    settings = dataclasses.replace(sqlite_world.settings, telegram_bot_token="1:wrong",
                                   telegram_base_url=fake_api.url)
    result = run_notify(settings, update_domain)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "coproduce: Telegram did not accept TELEGRAM_BOT_TOKEN. Nothing was sent: 2 update "
        "message(s) wait, and go at the next run that can send them."]
    with sqlite_world.session() as session:
        assert session.execute(select(Notification)).all() == []


def test_missing_wording_is_one_line(sqlite_world, fake_api, telegram_settings, tmp_path):
    domain = tmp_path / "other.yml"  # the file given is the one named
    domain.write_text("responses:\n  utter_update_intro:\n  - text: Hello.\n", encoding="utf-8")
    result = run_notify(telegram_settings(sqlite_world), domain)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"coproduce: {domain} has no response called utter_update_item_planned, "
        "utter_update_item_doing, utter_update_item_done, utter_update_stop, "
        "utter_update_stop_button; add them before sending updates."]
    assert fake_api.calls_to("sendMessage") == []


def test_a_domain_file_that_is_not_yaml_is_one_line(sqlite_world, fake_api, telegram_settings,
                                                  tmp_path):
    """A broken --domain file names the file and the line, with no traceback."""
    domain = tmp_path / "bad.yml"
    domain.write_text("x: [\n", encoding="utf-8")
    result = CliRunner(mix_stderr=False).invoke(
        notify, ["--domain", str(domain), "--dry-run"], obj=telegram_settings(sqlite_world))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"coproduce: The domain file {domain} is not valid YAML at line 2 "
        "(expected the node content, but found '<stream end>')."]
    assert fake_api.calls_to("sendMessage") == []


def test_update_wording_is_plain(update_domain):
    """Each update response, filled with an everyday action, passes the readability check."""
    responses = yaml.safe_load(update_domain.read_text(encoding="utf-8"))["responses"]
    for name in PENDING_UPDATE_RESPONSES:
        text = responses[name][0]["text"].format(
            emoji="🛡️", theme="Being safe", action="We will put more lights on the street.")
        assert check(text).ok, (name, text, check(text).problems)
    assert STOP_UPDATES_PAYLOAD == "/stop_updates"


def test_claims_are_unique(world):
    """Two runs cannot claim the same participant, action and revision (on both databases)."""
    from sqlalchemy.exc import IntegrityError

    alice, x1 = world.participants["pseud-alice"], world.actions["x1"]
    with world.session() as session:
        staff_queries.claim_notifications(session, participant_id=alice, items=[(x1, 1)])
        session.commit()
    with world.session() as session, pytest.raises(IntegrityError):
        staff_queries.claim_notifications(session, participant_id=alice, items=[(x1, 1)])
    with world.session() as session:
        assert staff_queries.notified_revisions(session, participant_id=alice) == {(x1, 1)}
        assert [n.action_id for n in staff_queries.unconfirmed_notifications(session)] == [x1]
        assert session.get(StaffAction, x1).revision == 1


def test_wording_with_an_unknown_placeholder_is_one_line(sqlite_world, fake_api,
                                                         telegram_settings, update_domain,
                                                         tmp_path):
    content = yaml.safe_load(update_domain.read_text(encoding="utf-8"))
    content["responses"]["utter_update_intro"] = [{"text": "Hello {name}. You told us: {themes}."}]
    domain = tmp_path / "domain.yml"
    domain.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    result = run_notify(telegram_settings(sqlite_world), domain)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"coproduce: {domain}'s utter_update_intro uses a placeholder notify does not fill "
        "('name'); it can use {themes}, {theme}, {emoji}, {action}."]


def test_intro_may_name_the_themes(sqlite_world, fake_api, telegram_settings, update_domain,
                                   tmp_path):
    """The lead's wording may list the themes in the intro with {themes}."""
    content = yaml.safe_load(update_domain.read_text(encoding="utf-8"))
    content["responses"]["utter_update_intro"] = [{"text": "Hello. You told us about: {themes}."}]
    domain = tmp_path / "domain.yml"
    domain.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    run_notify(telegram_settings(sqlite_world), domain)
    assert sent(fake_api)[0][1].startswith(
        "Hello. You told us about: Friends, Having a purpose, Being safe.\n\n🤝 Friends\n")


def run_coproduce_notify(settings, domain, *options):
    """Run `coproduce notify` through the top-level command group, settings from the environment
    (TELEGRAM_BOT_TOKEN among them only if the settings have one)."""
    from bot.cli import main

    env = {"TELEGRAM_BOT_TOKEN": None, "TELEGRAM_BASE_URL": None, **settings.to_env()}
    return CliRunner(mix_stderr=False).invoke(
        main, ["notify", "--domain", str(domain), "--by", "tester", *options], env=env)


def test_nobody_to_notify_needs_no_token(sqlite_world, update_domain):
    """With nobody waiting for news, notify says so and exits 0 without a Telegram token."""
    with sqlite_world.session() as session:
        session.execute(update(Participant).values(wants_updates=False))
        session.commit()
    settings = dataclasses.replace(sqlite_world.settings, telegram_bot_token="")
    result = run_coproduce_notify(settings, update_domain)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [NOTHING_TO_SEND]
    assert result.stderr == ""
    with sqlite_world.session() as session:
        assert session.execute(select(Notification)).all() == []
        assert [json.loads(e.detail)["sent"]
                for e in staff_queries.audit_entries(session, action="notify")] == [0]


def test_all_news_already_sent_needs_no_token(sqlite_world, fake_api, telegram_settings,
                                              update_domain):
    """Once everyone has had the news, a run without a token has nothing to send: exit 0."""
    assert run_notify(telegram_settings(sqlite_world), update_domain).exit_code == 0
    assert len(sent(fake_api)) == 2
    tokenless = dataclasses.replace(sqlite_world.settings, telegram_bot_token="",
                                    telegram_base_url=fake_api.url)
    result = run_coproduce_notify(tokenless, update_domain)
    assert (result.exit_code, result.stdout, result.stderr) == (0, NOTHING_TO_SEND + "\n", "")
    assert len(fake_api.calls_to("getMe")) == 1  # only the first run reached the Bot API
    assert len(sent(fake_api)) == 2


def test_news_to_send_still_needs_the_token(sqlite_world, update_domain):
    """With news waiting, a missing token is one clear line, exit 1, and nothing is claimed."""
    settings = dataclasses.replace(sqlite_world.settings, telegram_bot_token="")
    result = run_coproduce_notify(settings, update_domain)
    assert result.exit_code == 1
    assert result.stderr == ("coproduce: TELEGRAM_BOT_TOKEN is not set. Nothing was sent: 2 "
                             "update message(s) wait, and go at the next run that can send "
                             "them.\n")
    with sqlite_world.session() as session:
        assert session.execute(select(Notification)).all() == []
    dry = run_coproduce_notify(settings, update_domain, "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines()[-1] == "Dry run: 2 message(s) would be sent."
    assert dry.stderr.splitlines()[-1] == ("TELEGRAM_BOT_TOKEN is not set: a real run could not "
                                           "send these yet.")


def test_a_reading_warning_shared_by_many_recipients_is_one_line(capsys):
    """An update hard to read gives every recipient the same problems: one line says so, not
    one line per participant; different problems keep their own line."""
    from bot.staff.cli import _show_notify_result
    from bot.staff.notify import NotifyResult

    long_sentence = ["a sentence has 22 words (15 at most)"]
    result = NotifyResult(sent=["p1", "p2", "p3", "p4", "p5"], hard_to_read=[
        (name, long_sentence) for name in ("p1", "p2", "p3", "p4")] + [("p5", ["grade 9"])])
    _show_notify_result(result, dry_run=False)
    assert capsys.readouterr().err.splitlines() == [
        "Warning: the messages to 4 participants (p1, p2, p3 and 1 more) may be hard to read: "
        "a sentence has 22 words (15 at most)",
        "Warning: the message to p5 may be hard to read: grade 9"]


def test_news_is_read_aloud_for_someone_who_chose_sound(sqlite_world, fake_api,
                                                        telegram_settings, update_domain):
    """Every message can be heard: a participant who chose sound gets the news as a voice note
    (OGG/Opus) after its words; one who did not gets the words only. A voice note that fails
    does not make the news undelivered."""
    settings = dataclasses.replace(telegram_settings(sqlite_world), tts="espeak")
    with sqlite_world.session() as session:
        session.execute(update(Participant).where(Participant.pseudonym == "pseud-alice")
                        .values(sound=True))
        session.commit()
    result = run_notify(settings, update_domain)
    assert result.stdout.splitlines()[0] == "Sent 2 update message(s)."
    voices = [call for call in fake_api.calls_to("sendVoice") if call.status == 200]
    assert [call.params["chat_id"] for call in voices] == [1001]
    calls = [(call.method, call.params["chat_id"]) for call in fake_api.calls
             if call.method in ("sendMessage", "sendVoice")]
    assert calls.index(("sendMessage", 1001)) < calls.index(("sendVoice", 1001))
    assert voices[0].files and next(iter(voices[0].files.values()))[:4] == b"OggS"

    # Staff change the action; this time Telegram refuses the voice note: the news still went.
    CliRunner(mix_stderr=False).invoke(actions, ["update", str(sqlite_world.actions["x1"]),
                                                 "--status", "done"], obj=settings,
                                       catch_exceptions=False)
    fake_api.fail_next("sendVoice", status=400)
    result = run_notify(settings, update_domain)
    assert result.stdout.splitlines()[0] == "Sent 2 update message(s)."
    assert "Not delivered" not in result.stdout



def test_a_short_flood_wait_is_waited_out(sqlite_world, fake_api, telegram_settings,
                                          update_domain):
    """Telegram's rate limit (429 with a short retry_after) does not leave a run half sent."""
    fake_api.fail_next("sendMessage", status=429, retry_after=1)
    result = run_notify(telegram_settings(sqlite_world), update_domain)
    assert result.stdout.splitlines()[0] == "Sent 2 update message(s)."
    assert "Not delivered" not in result.stdout
    assert [chat for chat, _, _ in sent(fake_api)] == [1001, 1002]
