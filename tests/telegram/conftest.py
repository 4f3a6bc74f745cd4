"""Fixtures for the Telegram tests: the fake Bot API, the real bot in a thread, a switchable
path to Rasa (to play an outage), and domain wording the transport needs."""
from __future__ import annotations

import asyncio
import dataclasses
import socket
import sys
import threading
from pathlib import Path
from typing import Optional

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_bot_api import FakeBotApi  # noqa: E402

from bot.settings import PROJECT_ROOT  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from bot.telegram.words import FIXED_RESPONSES  # noqa: E402

# Proposed wording for domain.yml; used only while domain.yml lacks these responses.
PENDING_RESPONSES = {
    "utter_cannot_open_that": "Sorry, I can only read words. Please type, or press a button.",
    "utter_cannot_listen_yet": "I cannot listen to voice messages yet. Please type, or press a button.",
    "utter_cannot_see_edits": "I cannot see changes to a message. Please send your new words again.",
    "utter_menu_start": "Start, or carry on where you left off",
    "utter_menu_help": "How to use this chat",
    "utter_menu_repeat": "See my last message again",
    "utter_menu_sound_on": "Read my messages out loud",
    "utter_menu_sound_off": "Stop reading my messages out loud",
    "utter_menu_stop": "Take a break. We keep your answers.",
}


@pytest.fixture(scope="session")
def telegram_domain(tmp_path_factory) -> Path:
    """domain.yml, plus the transport's proposed responses it does not have yet."""
    domain = PROJECT_ROOT / "domain.yml"
    content = yaml.safe_load(domain.read_text(encoding="utf-8"))
    responses = content.setdefault("responses", {})
    missing = {name: [{"text": PENDING_RESPONSES[name]}] for name in FIXED_RESPONSES
               if name not in responses}
    if not missing:
        return domain
    responses.update(missing)
    path = tmp_path_factory.mktemp("telegram-domain") / "domain.yml"
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def fake_api():
    """A fresh fake Bot API server for one test."""
    api = FakeBotApi().start()
    yield api
    api.stop()


class BotThread:
    """The real bot (build_application + run_bot) running in its own thread and event loop."""

    def __init__(self, application, webhook=None):
        self.application = application
        self.webhook = webhook
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="telegram-bot")

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        from bot.telegram.app import run_bot

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await run_bot(self.application, self._stop, self.webhook)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc
            raise

    def start(self) -> "BotThread":
        """Start the bot and return at once; wait on the fake server for it to be ready."""
        self._thread.start()
        self._ready.wait(10)
        return self

    def call(self, coroutine, timeout: float = 30.0):
        """Run a coroutine in the bot's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the bot as Ctrl-C would, and wait for it."""
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the bot did not stop"

    @property
    def relay(self):
        return self.application.bot_data["relay"]

    @property
    def outbox(self):
        return self.application.bot_data["outbox"]


@pytest.fixture
def bot_settings(rasa_servers, fake_api, tmp_path):
    """Settings for a bot talking to the fake Bot API and the real Rasa (espeak voice, fast)."""
    return dataclasses.replace(
        rasa_servers.settings, telegram_bot_token=fake_api.token,
        telegram_base_url=fake_api.url, tts="espeak", audio_dir=tmp_path / "audio")


@pytest.fixture
def stub_settings(fake_api, tmp_path):
    """Settings for a bot talking to the fake Bot API and a stub Rasa, with its own database."""
    from bot.store.migrate import upgrade

    settings = make_settings(tmp_path, telegram_bot_token=fake_api.token,
                             telegram_base_url=fake_api.url, tts="espeak",
                             rasa_url="http://127.0.0.1:9")
    upgrade(settings.database_url)
    return settings


class StubRasa:
    """Answers like Rasa's REST channel with canned replies, and keeps what it was sent."""

    def __init__(self, reply=None):
        self.sent = []
        self.reply = reply or (lambda text: [{"text": f"You sent: {text}"}])

    async def send(self, sender, text, *, message_id, metadata=None):
        self.sent.append({"sender": sender, "text": text, "message_id": message_id,
                          "metadata": metadata})
        return self.reply(text)


@pytest.fixture
def start_bot(fake_api, telegram_domain):
    """Start the real bot against the fake Bot API; keyword overrides reach build_application."""
    from bot.app import build_services
    from bot.speech import build_speech_service
    from bot.telegram.app import build_application

    started = []

    def start(settings, webhook=None, **overrides):
        services = build_services(settings)
        values = dict(speech=build_speech_service(settings), domain_path=telegram_domain)
        values.update(overrides)
        bot = BotThread(build_application(settings, services, **values), webhook).start()
        bot.services = services
        started.append(bot)
        method = "getUpdates" if webhook is None else "setWebhook"
        fake_api.wait_for(lambda: fake_api.calls_to(method) or bot.error, 30,
                          f"the bot to call {method}")
        assert bot.error is None, bot.error
        return bot

    yield start
    for bot in started:
        bot.stop()


class RasaSwitch:
    """A TCP path to Rasa on a fixed port that can be cut (connections refused) and restored."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._server = None
        threading.Thread(target=self._loop.run_forever, daemon=True, name="rasa-switch").start()

    def up(self) -> None:
        """Let connections through to Rasa."""
        async def start():
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port,
                                                      reuse_address=True)
        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)

    def down(self) -> None:
        """Refuse connections, as if Rasa had stopped."""
        async def stop():
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)

    async def _pipe(self, reader, writer) -> None:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def copy(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        await asyncio.gather(copy(reader, target_writer), copy(target_reader, writer))

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def rasa_switch(rasa_servers):
    """A switchable path to the real Rasa server, starting switched on."""
    switch = RasaSwitch(rasa_servers.settings.rasa_port)
    switch.up()
    yield switch
    switch.close()
