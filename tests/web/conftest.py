"""Fixtures for the web chat: apps served over real HTTP on free ports, a fake Rasa at the
network edge, a voice that needs no network, and the page's words from domain.yml."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path
from typing import Callable, List

import pytest
import yaml
from aiohttp import web

from bot.app import build_services
from bot.speech import build_speech_service
from bot.wording import load_responses
from bot.web import build_web_app
from tests.conftest import PROJECT_ROOT, free_port, make_settings

# The words asked for in domain.yml; used only while domain.yml does not have them yet.
PROPOSED_WORDS = {
    "utter_web_chat_label": "Our chat",
    "utter_web_helper_name": "Chat helper",
    "utter_web_you": "You",
    "utter_web_message_label": "Type your message",
    "utter_web_message_hint": "Or press a button.",
    "utter_web_send": "Send",
    "utter_web_listen": "Listen",
    "utter_web_stop_listening": "Stop",
    "utter_web_bigger_text": "Bigger text",
    "utter_web_contrast": "Yellow on black",
    "utter_web_send_failed": "We could not send that. Please try again.",
    "utter_web_too_long": "Your message is too long. Please send it in shorter parts.",
    "utter_web_audio_failed": "Sorry, I cannot read this out loud right now.",
}
DOMAIN = PROJECT_ROOT / "domain.yml"


@pytest.fixture(scope="session")
def domain_path(tmp_path_factory) -> Path:
    """domain.yml, or a copy with the web page's proposed words while it lacks them."""
    responses = load_responses(DOMAIN)
    missing = {name: text for name, text in PROPOSED_WORDS.items() if name not in responses}
    if not missing:
        return DOMAIN
    data = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    data["responses"].update({name: [{"text": text}] for name, text in missing.items()})
    path = tmp_path_factory.mktemp("domain") / "domain.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def words(domain_path) -> dict:
    """The page's words by field name, as the app reads them."""
    from bot.web.words import load_page_words

    return dataclasses.asdict(load_page_words(domain_path))


class ServedApp:
    """An aiohttp application served on 127.0.0.1 from its own thread and event loop."""

    def __init__(self, app: web.Application, port: int = 0):
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> "ServedApp":
        """Start serving and return once the port is listening."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        """Stop serving and close the loop."""
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@dataclasses.dataclass
class FakeRasa:
    """Rasa's REST channel as a participant sees it: hello with buttons, then echoes."""

    received: List[dict] = dataclasses.field(default_factory=list)

    def app(self) -> web.Application:
        """The fake server's routes."""
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        """Answer like the assistant would, and remember what was sent."""
        body = await request.json()
        self.received.append(body)
        message = body["message"]
        if message == "/greet":
            return web.json_response([
                {"recipient_id": body["sender"], "text": "Hello! Do you want to take part?",
                 "buttons": [{"title": "Yes", "payload": "/affirm"},
                             {"title": "No", "payload": "/deny"}]}])
        if message.startswith("/"):
            return web.json_response([{"text": f"You pressed {message}."}])
        return web.json_response([{"text": f"Thank you. You said: {message}"}])


class FakeSpeech:
    """A voice that 'reads' every message as the same small MP3 file, or as nothing."""

    def __init__(self, folder: Path, works: bool = True):
        from bot.speech import Audio

        self.folder = folder
        self.works = works
        self.read: List[str] = []
        mp3 = folder / "clip.mp3"
        mp3.write_bytes(b"ID3" + b"\0" * 64)
        self._audio = Audio(ogg=folder / "clip.ogg", mp3=mp3, engine="fake", from_cache=True)

    def synthesize(self, text: str, language: str = "en"):
        """The same clip for every message, or None when the voice is off."""
        self.read.append(text)
        return self._audio if self.works else None


@pytest.fixture
def fake_rasa():
    """A fake Rasa REST channel on a free port."""
    rasa = FakeRasa()
    served = ServedApp(rasa.app()).start()
    rasa.url = served.url
    yield rasa
    served.stop()


@pytest.fixture
def serve_web(tmp_path, domain_path) -> Callable[..., ServedApp]:
    """Serve the web chat talking to a given Rasa URL; keyword overrides go to settings."""
    started: List[ServedApp] = []

    def serve(rasa_url: str, *, speech=None, **overrides) -> ServedApp:
        settings = make_settings(tmp_path, rasa_url=rasa_url, **overrides)
        app = build_web_app(settings, build_services(settings),
                            speech or FakeSpeech(tmp_path), domain_path=domain_path)
        served = ServedApp(app).start()
        served.settings = settings
        started.append(served)
        return served

    yield serve
    for served in started:
        served.stop()


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: Rasa is resting."""
    return f"http://127.0.0.1:{free_port()}"


def espeak_speech(settings):
    """A real voice that needs no network: espeak-ng, encoded to MP3 like every voice."""
    return build_speech_service(dataclasses.replace(settings, tts="espeak"))

