"""Shared by the Telegram tests and bench/telegram.py: the real bot in a thread, and domain.yml
with the transport's proposed responses while the real one lacks them."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Optional

import yaml

from bot.settings import PROJECT_ROOT
from bot.telegram.words import FIXED_RESPONSES

# Proposed wording for domain.yml; used only while domain.yml lacks these responses.
PENDING_RESPONSES = {
    "utter_cannot_open_that": "Sorry, I can only read words. Please type, or press a button.",
    "utter_cannot_listen_yet": "I cannot listen to voice messages yet. Please type, or press a button.",
    "utter_menu_start": "Start, or carry on where you left off",
    "utter_menu_help": "How to use this chat",
    "utter_menu_repeat": "See my last message again",
    "utter_menu_sound_on": "Read my messages out loud",
    "utter_menu_sound_off": "Do not read my messages out loud",
    "utter_menu_stop": "Take a break. We keep your answers.",
}


def domain_with_transport_wording(folder: Path) -> Path:
    """domain.yml itself if it has every transport response, else a copy in `folder` that does."""
    domain = PROJECT_ROOT / "domain.yml"
    content = yaml.safe_load(domain.read_text(encoding="utf-8"))
    responses = content.setdefault("responses", {})
    missing = {name: [{"text": PENDING_RESPONSES[name]}] for name in FIXED_RESPONSES
               if name not in responses}
    if not missing:
        return domain
    responses.update(missing)
    path = Path(folder) / "domain.yml"
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


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
