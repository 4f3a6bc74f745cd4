"""A crash of the transport loses no message: `coproduce telegram` runs as a process and is
killed (SIGKILL) while Rasa answers; a new process on the same store hands Rasa what was left."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import pytest

from bot.settings import PROJECT_ROOT
from bot.wording import response_text

from stub_rasa import StubRasaServer  # tests/telegram/ is on sys.path (see conftest.py)

COMMAND = [sys.executable, "-m", "bot.telegram.cli"]


class Transport:
    """`coproduce telegram` as a process, which a test stops as Ctrl-C does or kills outright."""

    def __init__(self, fake_api, settings, domain, log_path):
        self.fake_api = fake_api
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("TELEGRAM_", "COPRODUCE_"))}
        self.env = {**clean, **settings.to_env(), "TELEGRAM_BOT_TOKEN": fake_api.token,
                    "TELEGRAM_BASE_URL": fake_api.url, "COPRODUCE_LOG_LEVEL": "INFO",
                    # domain.yml, or a copy with the transport's proposed responses
                    "COPRODUCE_PROJECT_ROOT": str(domain.parent)}
        self.log_path = log_path
        self.process = None

    def start(self) -> "Transport":
        """Start the process and wait until it polls for updates."""
        polls = len(self.fake_api.calls_to("getUpdates"))
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.process = subprocess.Popen(COMMAND, cwd=PROJECT_ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.fake_api.wait_for(lambda: len(self.fake_api.calls_to("getUpdates")) > polls
                               or self.process.poll() is not None, 60, "the bot to poll")
        assert self.process.poll() is None, self.log()
        return self

    def kill(self) -> None:
        """Kill the process as a power cut would: no stop, no clean-up."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> int:
        """Stop the process as Ctrl-C would and return its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(60)

    def log(self) -> str:
        """What the process wrote (INFO and up)."""
        return self.log_path.read_text(encoding="utf-8")


@pytest.fixture
def transports(fake_api, telegram_domain, tmp_path):
    """Make transports for settings; any still running at the end is killed."""
    made = []

    def make(settings) -> Transport:
        transport = Transport(fake_api, settings, telegram_domain, tmp_path / "transport.log")
        made.append(transport)
        return transport

    yield make
    for transport in made:
        if transport.process is not None and transport.process.poll() is None:
            transport.kill()


@pytest.fixture
def stub_rasa_server():
    """Rasa's REST channel over HTTP, answering "You sent: ..." unless told to hold."""
    server = StubRasaServer().start()
    yield server
    server.stop()


@pytest.fixture
def crash_settings(fake_api, stub_rasa_server, tmp_path, database_url):
    """Settings for a transport on SQLite or PostgreSQL, talking to the stub Rasa over HTTP."""
    from bot.store.migrate import upgrade
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url=database_url, tts="espeak",
                             telegram_bot_token=fake_api.token, telegram_base_url=fake_api.url,
                             rasa_url=stub_rasa_server.url)
    upgrade(settings.database_url)
    return settings


def kept_rows(settings, chat_id=None):
    """The messages kept for Rasa in the store, oldest first (of one chat, if given)."""
    from bot.store.db import make_engine
    from bot.telegram.state import TelegramState

    engine = make_engine(settings.database_url)
    try:
        rows = TelegramState(engine, bot_id=settings.telegram_bot_token.split(":")[0]).waiting()
    finally:
        engine.dispose()
    return [row for row in rows if chat_id is None or row.chat_id == chat_id]


def confirmed(fake_api, update) -> bool:
    """True once the bot asked for updates after this one: Telegram will not send it again."""
    return any(int(call.params.get("offset") or 0) > update["update_id"]
               for call in fake_api.calls_to("getUpdates"))


def test_messages_in_flight_and_queued_survive_a_kill(fake_api, crash_settings, transports,
                                                      stub_rasa_server):
    rasa = stub_rasa_server
    first = transports(crash_settings).start()
    ann = fake_api.user(2001)
    ann.ask(lambda: ann.say("hello"), "You sent: hello")
    fake_api.wait_for(lambda: not kept_rows(crash_settings), 10, "the answered message to go")
    rasa.hold()  # Rasa is thinking when the power goes
    ann.say("first")
    fake_api.wait_for(lambda: "first" in rasa.texts(), 10, "Rasa to get the first message")
    ann.say("second")
    last = ann.say("third")
    # Written ahead: the one Rasa is answering and the two behind it are in the store already.
    fake_api.wait_for(lambda: [row.text for row in kept_rows(crash_settings)]
                      == ["first", "second", "third"], 10, "the messages to be kept")
    fake_api.wait_for(lambda: confirmed(fake_api, last), 10, "Telegram to forget the updates")
    sent_first = [sent for sent in rasa.sent if sent["text"] == "first"]
    first.kill()
    assert ann.texts() == ["You sent: hello"]  # nothing was said: no answer, no "send again"

    rasa.release()
    asked_before = len(rasa.sent)
    second = transports(crash_settings).start()
    ann.wait_for_text("You sent: third", timeout=30)
    assert ann.texts() == ["You sent: hello", "You sent: first", "You sent: second",
                           "You sent: third"]
    resent = rasa.sent[asked_before:]
    assert [sent["text"] for sent in resent] == ["first", "second", "third"]
    # Under the same message id as the first time, so an answer in it is stored only once.
    assert [resent[0]["message_id"]] == [sent["message_id"] for sent in sent_first]
    assert resent[0]["sender"] == sent_first[0]["sender"]
    fake_api.wait_for(lambda: not kept_rows(crash_settings), 10, "the kept messages to go")
    ann.ask(lambda: ann.say("and now"), "You sent: and now")
    assert second.stop() == 0, second.log()
    assert kept_rows(crash_settings) == []
    assert "first" not in second.log() and "second" not in second.log()  # no words in the log


def test_a_clean_stop_while_rasa_answers_leaves_nothing_behind(fake_api, crash_settings,
                                                               transports, stub_rasa_server,
                                                               telegram_domain):
    rasa = stub_rasa_server
    first = transports(crash_settings).start()
    bea = fake_api.user(2002)
    rasa.hold()
    bea.say("a slow one")
    fake_api.wait_for(lambda: rasa.texts() == ["a slow one"], 10, "Rasa to get the message")
    bea.say("behind it")
    fake_api.wait_for(lambda: len(kept_rows(crash_settings)) == 2, 10, "both to be kept")
    assert first.stop() == 0, first.log()  # Ctrl-C: after 10 s of grace, asked to send again
    send_again = response_text(telegram_domain, "utter_send_again")
    assert bea.texts() == [send_again]
    assert kept_rows(crash_settings) == []
    rasa.release()
    transports(crash_settings).start()
    time.sleep(1.0)
    assert rasa.texts() == ["a slow one"] and bea.texts() == [send_again]


def test_a_clean_stop_while_the_replies_are_sent_keeps_the_message_for_the_next_start(
        fake_api, crash_settings, transports, stub_rasa_server):
    """Rasa answered, but Telegram asked the bot to wait (a flood wait longer than the stop's
    grace): a clean stop keeps the message, as a crash does, and the next start sends the reply.
    Nothing is shown twice and the participant is not asked to send it again."""
    rasa = stub_rasa_server
    first = transports(crash_settings).start()
    dee = fake_api.user(2003)
    fake_api.fail_next("sendMessage", retry_after=30)
    dee.say("hello")
    fake_api.wait_for(lambda: rasa.texts() == ["hello"] and fake_api.calls_to("sendMessage"),
                      10, "the first try to send the reply")
    assert first.stop() == 0, first.log()
    assert [row.text for row in kept_rows(crash_settings)] == ["hello"]
    assert dee.texts() == []
    assert "the rest are sent at the next start" in first.log()
    fake_api.clear_failures("sendMessage")
    transports(crash_settings).start()
    dee.wait_for_text("You sent: hello", timeout=30)
    fake_api.wait_for(lambda: not kept_rows(crash_settings), 10, "the kept message to go")
    assert dee.texts() == ["You sent: hello"]


@pytest.mark.servers
@pytest.mark.parametrize("shown", [0, 1])
def test_a_replayed_answer_is_stored_once(fake_api, rasa_servers, transports, telegram_domain,
                                          tmp_path, shown):
    """Rasa stores the answer, then the bot dies before the reply reaches Telegram (or after
    only the first of its messages did): at the next start the participant gets the messages
    they missed, read from Rasa's tracker store, each once, and the answer is still stored once."""
    from bot.app import build_services
    from bot.rest_client import RestClient
    from bot.store import queries
    from bot.store.tracker import TrackerReader
    from pilot import Policy, Step, act, reference, rest_sender, texts_of

    settings = dataclasses.replace(rasa_servers.settings, telegram_bot_token=fake_api.token,
                                   telegram_base_url=fake_api.url, tts="espeak",
                                   audio_dir=tmp_path / "audio")
    answer = "Friends and my cat"
    policy = Policy(telegram_domain, [answer, "Good staff", "Long waits"])
    rest = RestClient(rasa_servers.rasa_url, channel="telegram")
    transcript = reference(rest_sender(rest.send, f"replay-reference-{shown}"), policy)
    first = transports(settings).start()
    cal = fake_api.user(424242010 + shown)
    for position, (step, replies) in enumerate(transcript):
        if step == Step("say", answer):
            answered = texts_of(replies)  # what Rasa says to the answer, in the reference
            break
        mark = len(cal.texts())
        act(cal, step)
        expected = texts_of(replies)
        fake_api.wait_for(lambda: len(cal.texts()) >= mark + len(expected), 60,
                          f"the replies to {step}")

    assert len(answered) >= 2  # "Thank you. You said: ..." and the theme check
    question_at = len(cal.texts())
    # Telegram out of reach, from the first message of the answer's reply (or the second).
    fake_api.fail_next("sendMessage", status=502, times=100, after=shown)
    update = cal.say(answer)
    fake_api.wait_for(lambda: fake_api.calls_to("sendMessage", chat_id=cal.id)[-1].status == 502
                      and len(fake_api.calls_to("sendMessage", chat_id=cal.id)) > question_at + shown,
                      60, "Rasa's reply to fail on its way to Telegram")
    assert cal.texts()[question_at:] == answered[:shown]
    services = build_services(settings)
    sender = services.pseudonymizer.pseudonym(str(cal.id), channel="telegram")
    message_id = "tg-" + services.pseudonymizer.pseudonym(
        f"{cal.id}:{update['message']['message_id']}", channel="telegram-message")[:24]

    def stored():
        with services.sessions() as session:
            person = queries.get_participant(
                session, pseudonym=services.conversation.pseudonym(sender))
            return [(a.text, a.channel_message_id)
                    for a in queries.answers_for(session, participant=person)] if person else []

    assert stored() == [(answer, message_id)]
    # Answered messages leave the store a second later (kept.FORGET_AFTER); this one stays.
    fake_api.wait_for(lambda: [(row.message_id, row.delivered) for row in kept_rows(settings, cal.id)]
                      == [(message_id, shown)], 10, "only the unanswered message to stay kept")
    first.kill()  # before the reply reached the participant
    fake_api.clear_failures("sendMessage")  # Telegram is back

    second = transports(settings).start()
    fake_api.wait_for(lambda: not kept_rows(settings, cal.id), 60, "the message to be answered")
    fake_api.wait_for(lambda: len(cal.texts()) >= question_at + len(answered), 30, "the replies")
    time.sleep(2.0)
    # Rasa had answered and moved on: the participant sees exactly what they missed, once
    # (before, the message went to Rasa again and got "Sorry, I did not understand that"; and
    # the messages shown before the crash came again).
    assert cal.texts()[question_at:] == answered
    assert stored() == [(answer, message_id)]
    reader = TrackerReader(settings)
    try:
        said = [event for event in reader.messages(sender, limit=200)
                if event.get("event") == "user" and event.get("text") == answer]
    finally:
        reader.close()
    assert len(said) == 1  # Rasa was not asked again
    # And the chat goes on from there, as in the reference.
    step, replies = transcript[position + 1]
    mark = len(cal.texts())
    act(cal, step)
    fake_api.wait_for(lambda: len(cal.texts()) >= mark + len(texts_of(replies)), 60, "the next step")
    assert cal.texts()[mark:] == texts_of(replies)
    assert second.stop() == 0, second.log()
    services.engine.dispose()
