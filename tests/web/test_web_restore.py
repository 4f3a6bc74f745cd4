"""After the web chat restarts, a returning participant sees their conversation again, read
back from Rasa's tracker store (Rasa's own SQLTrackerStore, on SQLite and PostgreSQL); an
erased conversation is not rebuilt, and a store that cannot be read still gives a page."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List

import pytest
import requests
from aiohttp import web

from bot.app import build_services
from bot.servers import tracker_store_config
from bot.store.tracker import delete_conversation, tracker_engine
from bot.web import build_web_app
from bot.web.state import CHAT
from tests.conftest import free_port, make_settings
from web_pages import read_page
from web_support import (ASK_ME, DELETE, DELETE_YES, DELETED, MY_DATA, FakeSpeech, ServedApp,
                         post, visit)

HELLO = "Hello! Do you want to take part?"
WELCOME_BACK = "Welcome back."
SKIP = ("/skip", "Skip this question")


class StoringRasa:
    """Rasa's REST channel as Rasa builds it: each turn's events are saved by Rasa's own
    SQLTrackerStore (with internal events around them), and the replies are made from the
    bot events by Rasa's own output channel."""

    def __init__(self, settings):
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain

        config = tracker_store_config(settings)
        self.store = SQLTrackerStore(
            domain=Domain.empty(), dialect=config["dialect"], host=config.get("url"),
            port=config.get("port"), db=config["db"], username=config.get("username"),
            password=config.get("password"))
        self.received: List[dict] = []

    def app(self) -> web.Application:
        """The fake server's routes."""
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        """Answer, save the turn in the tracker store, and send the replies as Rasa would."""
        from rasa.core.channels.channel import CollectingOutputChannel
        from rasa.shared.core.events import (ActionExecuted, SessionStarted, SlotSet,
                                             UserUttered)
        from rasa.shared.core.trackers import DialogueStateTracker

        body = await request.json()
        self.received.append(body)
        sender, message = body["sender"], body["message"]
        tracker = await self.store.retrieve(sender) or DialogueStateTracker(sender, [])
        if not tracker.events:
            for event in (ActionExecuted("action_session_start"), SessionStarted(),
                          ActionExecuted("action_listen")):
                tracker.update(event)
        earlier = [event for event in tracker.events if isinstance(event, UserUttered)]
        tracker.update(UserUttered(message, intent={"name": message.lstrip("/")},
                                   input_channel=body["input_channel"],
                                   metadata=body["metadata"]))
        said = self.answer(message, earlier)
        for bot in said:
            tracker.update(ActionExecuted("utter_reply"))
            tracker.update(bot)
        tracker.update(SlotSet("stage", "question"))
        tracker.update(ActionExecuted("action_listen"))
        if any((bot.data.get("custom") or {}).get("erased") for bot in said):
            # As action_delete_my_data does; then Rasa saves the turn, which writes the whole
            # conversation it still holds back to the store until the erasure runs again.
            delete_conversation(self.store.engine, sender)
        await self.store.save(tracker)
        output = CollectingOutputChannel()
        for bot in said:
            await output.send_response(sender, bot.message())
        return web.json_response(output.messages)

    @staticmethod
    def answer(message: str, earlier: list) -> list:
        """The bot events for a message: hello, a two-paragraph answer, questions, a file."""
        from rasa.shared.core.events import BotUttered

        asked = sum(event.text in (ASK_ME, "/skip") for event in earlier)
        if message == DELETE:
            return [BotUttered("Do you want us to delete your answers?", {"buttons": [
                {"title": DELETE_YES[1], "payload": DELETE_YES[0]},
                {"title": "No, keep them", "payload": "/deny"}]})]
        if message == DELETE_YES[0] and earlier and earlier[-1].text == DELETE:
            return [BotUttered(DELETED, {"custom": {"erased": True}})]  # as utter_deleted
        if message == "/greet":
            return [BotUttered(WELCOME_BACK if earlier else HELLO, {"buttons": [
                {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]})]
        if message in (ASK_ME, "/skip"):
            return [BotUttered(f"Question {asked + 1}: what helps you?",
                               {"buttons": [{"title": SKIP[1], "payload": SKIP[0]}]})]
        if message == "/affirm":
            return [BotUttered("Thank you.\n\nWe will ask a few questions.")]
        if message == MY_DATA:  # one event with words and a file, as utter_my_data_file
            record = {"answers": [{"text": "Café ❤"}]}
            return [BotUttered("Here is all we keep about you, in a file.",
                               {"custom": {"document": {"filename": "my-data.json",
                                                        "data": record}}})]
        return [BotUttered(f"Thank you. You said: {message}", {"custom": {"keep_contact": True}})]

    def messages(self) -> List[str]:
        """What Rasa was sent, in order."""
        return [body["message"] for body in self.received]

    def close(self) -> None:
        """Close the tracker store's connections."""
        self.store.engine.dispose()


class ChatServer:
    """The web chat on one port, which a test can restart as a new process would start."""

    def __init__(self, settings, domain_path: Path, folder: Path):
        self.settings = settings
        self.domain_path = domain_path
        self.folder = folder
        self.served = self._serve(free_port())

    @property
    def url(self) -> str:
        """Where the web chat listens."""
        return self.served.url

    def _serve(self, port: int) -> ServedApp:
        app = build_web_app(self.settings, build_services(self.settings),
                            FakeSpeech(self.folder), domain_path=self.domain_path)
        return ServedApp(app, port=port).start()

    def restart(self) -> "ChatServer":
        """Stop the web chat and start a fresh one on the same port: memory is empty again."""
        self.served.stop()
        self.served = self._serve(self.served.port)
        return self

    def chat(self):
        """The running app's shared state."""
        return self.served.app[CHAT]

    def stop(self) -> None:
        """Stop serving."""
        self.served.stop()


@pytest.fixture
def settings(tmp_path, database_url):
    """Settings whose tracker store is on SQLite or PostgreSQL, in turn."""
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def rasa(settings):
    """The fake Rasa with Rasa's own tracker store, on a free port."""
    rasa = StoringRasa(settings)
    served = ServedApp(rasa.app()).start()
    rasa.url = served.url
    yield rasa
    served.stop()
    rasa.close()


@pytest.fixture
def chat_server(tmp_path, domain_path):
    """Start the web chat for settings; it is stopped after the test."""
    started: List[ChatServer] = []

    def start(settings, rasa_url: str) -> ChatServer:
        server = ChatServer(make_settings(tmp_path, database_url=settings.database_url,
                                          rasa_url=rasa_url), domain_path, tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def reload(browser, server):
    """The chat page as the person sees it now."""
    return read_page(browser.get(server.url + "/").text)


def talk(browser, server, page):
    """A conversation: hello, Yes, the participant's record, typed words, then a question."""
    assert post(browser, server, page, payload="/affirm").status_code == 303
    assert post(browser, server, reload(browser, server), text=MY_DATA).status_code == 303
    typed = post(browser, server, reload(browser, server), text="Friends <and> a job")
    assert typed.status_code == 303
    page = reload(browser, server)
    assert post(browser, server, page, text=ASK_ME).status_code == 303
    return page, reload(browser, server)


def test_after_a_restart_the_page_shows_the_conversation_and_its_buttons_work(
        settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    browser, page = visit(server)
    last_post, before = talk(browser, server, page)
    assert before.texts == [
        HELLO, "Yes", "Thank you.", "We will ask a few questions.", MY_DATA,
        "Here is all we keep about you, in a file.", "Friends <and> a job",
        "Thank you. You said: Friends <and> a job", ASK_ME, "Question 1: what helps you?"]
    assert before.choices == [SKIP] and len(before.file_links) == 1
    sent = len(rasa.received)

    after = reload(browser, server.restart())
    assert after.texts == before.texts and after.speakers == before.speakers
    assert after.choices == [SKIP]  # only the latest message's buttons, as before
    assert after.file_links == []  # the record is not rebuilt: just the words that offered it
    assert len(after.listen_links) == len(before.listen_links)
    assert len(rasa.received) == sent  # no new hello: nothing was sent to Rasa

    # The page from before the restart posts its last message again: Rasa is not sent it twice.
    assert post(browser, server, last_post, text=ASK_ME).status_code == 303
    assert len(rasa.received) == sent

    assert post(browser, server, after, payload="/skip").status_code == 303
    assert rasa.messages()[sent:] == ["/skip"]
    page = reload(browser, server)
    assert page.texts[-2:] == ["Skip this question", "Question 2: what helps you?"]
    assert page.texts[:-2] == before.texts and page.choices == [SKIP]


def test_a_page_open_before_the_restart_still_sends_its_buttons(settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    browser, page = visit(server)
    _, before = talk(browser, server, page)
    server.restart()
    # The page's script posts the button it shows; the first request after the restart.
    reply = post(browser, server, before, json=True, payload="/skip").json()
    assert reply["ok"]
    assert [(e["speaker"], e["text"]) for e in reply["entries"]] == [
        ("you", "Skip this question"), ("helper", "Question 2: what helps you?")]
    assert reply["entries"][1]["choices"] == [{"title": SKIP[1], "payload": SKIP[0]}]
    assert rasa.messages()[-2:] == [ASK_ME, "/skip"]  # no hello in between
    assert reload(browser, server).texts[:-2] == before.texts


def test_a_page_open_before_the_restart_can_still_listen(settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    browser, page = visit(server)
    _, before = talk(browser, server, page)
    server.restart()
    # The first request after the restart is a send with no words: refused, nothing read back.
    assert post(browser, server, before, text="").status_code == 400
    # Listen on the old page: its words are read back.
    for link in before.listen_links:
        clip = browser.get(server.url + link)
        assert clip.status_code == 200 and clip.headers["Content-Type"] == "audio/mpeg", link
    # The same addresses on the page after the restart, and still none for another device.
    assert reload(browser, server).listen_links == before.listen_links
    assert requests.get(server.url + before.listen_links[-1]).status_code == 404
    # Erased: the old page's Listen finds nothing, also after another restart.
    sender = rasa.received[-1]["sender"]
    engine = tracker_engine(settings)
    try:
        delete_conversation(engine, sender)
    finally:
        engine.dispose()
    server.restart()
    assert browser.get(server.url + before.listen_links[-1]).status_code == 404


def test_an_erased_conversation_is_not_rebuilt(settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    browser, page = visit(server)
    talk(browser, server, page)
    sender = rasa.received[-1]["sender"]
    engine = tracker_engine(settings)
    try:
        assert delete_conversation(engine, sender) > 0
    finally:
        engine.dispose()

    after = reload(browser, server.restart())
    assert after.texts == [HELLO] and after.choices == [("/affirm", "Yes"), ("/deny", "No")]
    assert rasa.messages()[-1] == "/greet"
    assert "Friends" not in browser.get(server.url + "/").text


def test_a_new_device_after_a_restart_is_greeted_and_reads_nothing_back(
        settings, rasa, chat_server, caplog):
    server = chat_server(settings, rasa.url)
    visit(server)
    server.restart()
    _, page = visit(server)  # another device: its own session, its own conversation
    assert page.texts == [HELLO]
    assert not [r for r in caplog.records if r.name == "bot.store.tracker"]


def test_only_the_newest_messages_are_rebuilt(settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    browser, page = visit(server)
    _, before = talk(browser, server, page)
    server.restart().chat().transcripts.max_entries = 4
    after = reload(browser, server)
    assert after.texts == before.texts[-4:] and after.choices == [SKIP]


def test_a_transcript_dropped_from_memory_is_rebuilt(settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    server.chat().transcripts.max_conversations = 1
    browser, page = visit(server)
    _, before = talk(browser, server, page)
    visit(server)  # another participant's page pushes the first one out of memory
    sent = len(rasa.received)
    assert reload(browser, server).texts == before.texts
    assert len(rasa.received) == sent


@pytest.mark.parametrize("store", ["no events table", "not a database", "server down"])
def test_a_tracker_store_that_cannot_be_read_still_gives_a_greeting(
        store, tmp_path, fake_rasa, chat_server, caplog):
    database_url = f"sqlite:///{tmp_path / 'coproduce.db'}"
    if store == "not a database":
        (tmp_path / "coproduce-tracker.db").write_bytes(b"these are not the droids" * 100)
    if store == "server down":
        database_url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    server = chat_server(make_settings(tmp_path, database_url=database_url), fake_rasa.url)
    browser, _ = visit(server)
    server.restart()
    caplog.set_level(logging.WARNING, logger="bot.store.tracker")
    page = reload(browser, server)
    assert page.texts == ["Hello! Do you want to take part?"]
    assert [body["message"] for body in fake_rasa.received] == ["/greet", "/greet"]
    reload(browser, server)  # read once per participant, not on every page
    warnings = [r for r in caplog.records if r.name == "bot.store.tracker"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "tracker store" in warnings[0].getMessage() and not warnings[0].exc_info


def test_the_store_is_read_once_per_participant_even_while_rasa_rests(
        tmp_path, closed_url, chat_server, caplog, words):
    server = chat_server(make_settings(tmp_path), closed_url)  # no events table, Rasa resting
    browser, _ = visit(server)
    server.restart()
    caplog.set_level(logging.WARNING, logger="bot.store.tracker")
    for _ in range(3):
        page = reload(browser, server)
        assert page.texts == [] and page.notice == words["resting"]
    assert len([r for r in caplog.records if r.name == "bot.store.tracker"]) == 1


def test_in_a_browser_the_rebuilt_page_reads_well_and_its_buttons_work(tmp_path, chat_server):
    from web_driving import Browser, missing_tools

    if missing_tools():
        pytest.skip(f"Missing {', '.join(missing_tools())}: run scripts/install-browser.sh")
    settings = make_settings(tmp_path)
    rasa = StoringRasa(settings)
    served_rasa = ServedApp(rasa.app()).start()
    server = chat_server(settings, served_rasa.url)
    browser = Browser(server.url)
    try:
        browser.open()
        browser.press("Yes")
        browser.say("Friends and a job")
        browser.say(ASK_ME)
        browser.wait_for_choice(SKIP[1])
        before = browser.texts()

        server.restart()
        browser.open()
        assert browser.texts() == before and browser.choices() == [SKIP[1]]
        assert browser.axe("restored") == []
        browser.press(SKIP[1])
        browser.wait_for_message("Question 2: what helps you?")
        assert rasa.messages() == ["/greet", "/affirm", "Friends and a job", ASK_ME, "/skip"]
    finally:
        browser.close()
        served_rasa.stop()
        rasa.close()


def erase(browser, server):
    """Ask to delete the answers and press Yes, as the participant did."""
    assert post(browser, server, reload(browser, server), text=DELETE).status_code == 303
    page = reload(browser, server)
    assert DELETE_YES[::-1] in [(title, payload) for payload, title in page.choices]
    assert post(browser, server, page, payload=DELETE_YES[0]).status_code == 303
    return reload(browser, server)


def test_after_an_erasure_a_restart_shows_none_of_the_earlier_conversation(
        settings, rasa, chat_server):
    server = chat_server(settings, rasa.url)
    browser, page = visit(server)
    talk(browser, server, page)
    erased = erase(browser, server)
    assert erased.texts == [DELETED]
    sender = rasa.received[-1]["sender"]

    # Rasa saved the erasure's turn after the action: the older events are briefly back in the
    # tracker store, but the page still shows only what came from the erasure on.
    assert len(server.chat().history.messages(sender, limit=100)) > 2
    soon = reload(browser, server.restart())
    assert soon.texts == [DELETED] and soon.file_links == [] and soon.choices == []
    html = browser.get(server.url + "/").text
    for earlier in ("Friends", MY_DATA, ASK_ME, "Question 1", "erased"):
        assert earlier not in html

    # The erasure runs again (bot.data_rights): read back finds nothing, so Rasa says hello.
    engine = tracker_engine(settings)
    try:
        delete_conversation(engine, sender)
    finally:
        engine.dispose()
    assert server.restart().chat().history.messages(sender, limit=100) == []
    sent = len(rasa.received)
    later = reload(browser, server)
    assert later.texts == [HELLO] and rasa.messages()[sent:] == ["/greet"]
    assert "Friends" not in browser.get(server.url + "/").text
