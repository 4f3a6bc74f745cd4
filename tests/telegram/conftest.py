"""Fixtures for the Telegram tests: the fake Bot API, the real bot in a thread, a switchable
path to Rasa (to play an outage), and domain wording the transport needs."""
from __future__ import annotations

import asyncio
import dataclasses
import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_bot_api import FakeBotApi  # noqa: E402
from harness import BotThread, domain_with_transport_wording  # noqa: E402

from tests.conftest import make_settings  # noqa: E402


@pytest.fixture(scope="session")
def telegram_domain(tmp_path_factory) -> Path:
    """domain.yml, or a copy with the transport's proposed responses while it lacks them."""
    return domain_with_transport_wording(tmp_path_factory.mktemp("telegram-domain"))


@pytest.fixture
def fake_api():
    """A fresh fake Bot API server for one test."""
    api = FakeBotApi().start()
    yield api
    api.stop()


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
        self._writers = set()
        threading.Thread(target=self._loop.run_forever, daemon=True, name="rasa-switch").start()

    def up(self) -> None:
        """Let connections through to Rasa."""
        async def start():
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port,
                                                      reuse_address=True)
        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)

    def down(self) -> None:
        """Refuse connections and cut open ones, as if Rasa had stopped."""
        async def stop():
            for writer in list(self._writers):
                writer.close()
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)

    async def _pipe(self, reader, writer) -> None:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((writer, target_writer))

        async def copy(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()
                self._writers.discard(sink)

        await asyncio.gather(copy(reader, target_writer), copy(target_reader, writer))

    def close(self) -> None:
        """Cut everything and stop the switch's thread."""
        self.down()

        async def finish():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(finish(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def rasa_switch(rasa_servers):
    """A switchable path to the real Rasa server, starting switched on."""
    switch = RasaSwitch(rasa_servers.settings.rasa_port)
    switch.up()
    yield switch
    switch.close()
