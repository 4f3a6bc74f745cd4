"""Helpers for the web chat tests: apps served over real HTTP on free ports, a fake Rasa at
the network edge, voices that need no network, and the words proposed for domain.yml."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path
from typing import List

import requests
from aiohttp import web

from bot.speech import Audio, build_speech_service
from tests.conftest import PROJECT_ROOT, free_port
from web_pages import read_page

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
    "utter_web_save_file": "Save the file",
    "utter_web_file_gone": "Sorry, this file has gone. Please ask for it again.",
}
MY_DATA = "what do you know about me"
ASK_ME = "ask me a question"
DELETE = "delete my answers"
DELETE_YES = ("/affirm", "Yes, delete them")
DELETED = "We have deleted your answers and this chat. Thank you for your time."
HELD = "We must keep one part of what you told us for now."
DOMAIN = PROJECT_ROOT / "domain.yml"
JSON = {"Accept": "application/json"}


def visit(served):
    """A new device: a requests session that has opened the chat page once."""
    browser = requests.Session()
    response = browser.get(served.url + "/")
    assert response.status_code == 200
    return browser, read_page(response.text)


def post(browser, served, page, json=False, headers=None, **fields):
    """Post to /send as the page's form would, with its hidden fields (a button: its turn too)."""
    data = {"csrf": page.hidden["csrf"], "message_id": page.hidden["message_id"], **fields}
    if "payload" in fields and "turn" in page.hidden:
        data.setdefault("turn", page.hidden["turn"])
    return browser.post(served.url + "/send", data=data, allow_redirects=False,
                        headers={**(JSON if json else {}), **(headers or {})})


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
    """Rasa's REST channel as a participant sees it: hello with buttons, the participant's
    record as a file when asked, numbered questions with a Skip button, an erasure after
    "delete my answers" and Yes, then echoes.
    It can answer slowly (`delay` seconds) or rest for the next `failures` messages."""

    received: List[dict] = dataclasses.field(default_factory=list)
    delay: float = 0.0
    failures: int = 0
    questions: int = 0
    held: bool = False  # an erasure holds flagged answers for the safeguarding lead
    confirming: set = dataclasses.field(default_factory=set)  # senders asked "delete?"

    def app(self) -> web.Application:
        """The fake server's routes."""
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        """Answer like the assistant would, and remember what was sent."""
        body = await request.json()
        self.received.append(body)
        await asyncio.sleep(self.delay)
        if self.failures:
            self.failures -= 1
            return web.Response(status=503)
        message = body["message"]
        if message == DELETE:
            self.confirming.add(body["sender"])
            return web.json_response([
                {"text": "Do you want us to delete your answers?",
                 "buttons": [{"title": DELETE_YES[1], "payload": DELETE_YES[0]},
                             {"title": "No, keep them", "payload": "/deny"}]}])
        if message == DELETE_YES[0] and body["sender"] in self.confirming:
            self.confirming.discard(body["sender"])
            held = [{"recipient_id": body["sender"], "text": HELD}] if self.held else []
            # As Rasa's REST channel sends utter_deleted with its json_message: apart.
            return web.json_response(held + [
                {"recipient_id": body["sender"], "text": DELETED},
                {"recipient_id": body["sender"], "custom": {"erased": True}}])
        if message in (ASK_ME, "/skip"):
            self.questions += 1
            return web.json_response([
                {"text": f"Question {self.questions}: what helps you?",
                 "buttons": [{"title": "Skip this question", "payload": "/skip"}]}])
        if message == "/greet":
            return web.json_response([
                {"recipient_id": body["sender"], "text": "Hello! Do you want to take part?",
                 "buttons": [{"title": "Yes", "payload": "/affirm"},
                             {"title": "No", "payload": "/deny"}]}])
        if message == MY_DATA:  # as Rasa sends it: the words, then the file apart
            record = {"participant": {"sender": body["sender"]}, "answers": [{"text": "Café ❤"}]}
            return web.json_response([
                {"recipient_id": body["sender"],
                 "text": "Here is all we keep about you, in a file."},
                {"recipient_id": body["sender"],
                 "custom": {"document": {"filename": "my-data.json", "data": record}}}])
        if message.startswith("/"):
            return web.json_response([{"text": f"You pressed {message}."}])
        return web.json_response([{"text": f"Thank you. You said: {message}"}])


class FakeSpeech:
    """A voice that 'reads' every message as the same small MP3 file, or as nothing."""

    def __init__(self, folder: Path, works: bool = True):
        self.folder = folder
        self.works = works
        self.read: List[str] = []
        mp3 = folder / "clip.mp3"
        mp3.write_bytes(b"ID3" + b"\0" * 64)
        self._audio = Audio(ogg=folder / "clip.ogg", mp3=mp3, engine="fake", from_cache=True)

    def synthesize(self, text: str, language: str = "en", sender=None):
        """The same clip for every message, or None when the voice is off."""
        self.read.append(text)
        return self._audio if self.works else None


def espeak_speech(settings):
    """A real voice that needs no network: espeak-ng, encoded to MP3 like every voice."""
    return build_speech_service(dataclasses.replace(settings, tts="espeak"))

