"""What the web chat's handlers share, built once per app: wording, clients, transcripts."""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import secrets
from typing import Any, Dict, List

import jinja2
from aiohttp import web

from bot.identity import Pseudonymizer
from bot.rest_client import RestClient
from bot.store.tracker import TrackerReader
from bot.web.transcript import Entry, Transcript, Transcripts
from bot.web.words import PageWords

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
# A message of 2,000 characters, each four UTF-8 bytes sent as %XX, fits with room to spare.
MAX_BODY_BYTES = 64 * 1024
SPEECH_LANGUAGE = "en"


@dataclasses.dataclass
class WebChat:
    """What the web chat's handlers share: built once per app."""

    title: str
    words: PageWords
    pseudonymizer: Pseudonymizer
    rasa: RestClient
    speech: Any
    transcripts: Transcripts
    history: TrackerReader
    templates: jinja2.Environment
    static_versions: Dict[str, str]
    speech_pool: concurrent.futures.ThreadPoolExecutor
    max_chars: int = MAX_MESSAGE_CHARS
    warm_audio: bool = True
    # Names this run of the web chat, so a page's buttons say which exchange they belong to
    # (see button_turn): pages from before a restart are not refused for it.
    era: str = dataclasses.field(default_factory=lambda: secrets.token_hex(4))

    def button_turn(self, transcript: Transcript) -> str:
        """What a page's buttons carry to say which exchange they answer."""
        return f"{self.era}:{transcript.turn}"

    def is_old_button(self, transcript: Transcript, turn: str) -> bool:
        """True for a button from an earlier exchange of this run (a second tab, an old page)."""
        era, _, number = turn.partition(":")
        return era == self.era and number != str(transcript.turn)

    async def synthesize(self, text: str, sender: str):
        """The message for this sender read aloud (Audio) or None; speech runs in its own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.speech_pool, self.speech.synthesize, text,
                                          SPEECH_LANGUAGE, sender)

    def warm(self, entries: List[Entry], sender: str) -> None:
        """Start reading new messages aloud in the background, so Listen answers quickly."""
        if not self.warm_audio:
            return
        for entry in entries:
            if entry.from_helper and entry.text:
                future = self.speech_pool.submit(self.speech.synthesize, entry.text, SPEECH_LANGUAGE, sender)
                future.add_done_callback(_log_failure)

    def forget_audio(self, sender: str) -> None:
        """After an erasure, delete this sender's personal audio once queued readings are done."""
        cache = getattr(self.speech, "cache", None)
        owner_of = getattr(self.speech, "owner_of", None)
        if cache is None or owner_of is None:
            return
        # The one speech thread takes jobs in order: a reading of an earlier message still
        # waiting (warm) would otherwise write that message's audio again after the erasure.
        future = self.speech_pool.submit(cache.erase_owner, owner_of(sender))
        future.add_done_callback(_log_erase_failure)

    def audio_is_shared(self, text: str) -> bool:
        """True when a message read aloud is the same for everyone (no participant's words)."""
        from bot.speech.service import speakable  # as app.py: the web chat loads speech lazily

        personal_owner = getattr(self.speech, "personal_owner", None)
        return personal_owner is not None and personal_owner(speakable(text), None) is None


CHAT = web.AppKey("chat", WebChat)


def _log_failure(future: concurrent.futures.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("Could not read a message aloud ahead of time: %s", future.exception())


def _log_erase_failure(future: concurrent.futures.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("Could not delete an erased participant's audio: %s",
                  future.exception().__class__.__name__)
