"""The speech service: read a message aloud once, cache it forever, and never hold up the text."""
from __future__ import annotations

import collections
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Pattern, Sequence

from bot.speech.audio import to_mp3, to_ogg_opus
from bot.speech.breaker import CircuitBreaker
from bot.speech.cache import AudioCache, entry_key, message_key
from bot.speech.engines import EngineUnavailable, EspeakEngine, GttsEngine, PiperEngine
from bot.speech.personal import personal_patterns

log = logging.getLogger(__name__)

ENGINE_ORDERS = {
    "auto": ("gtts", "piper", "espeak"),
    "gtts": ("gtts",),
    "piper": ("piper",),
    "espeak": ("espeak",),
}
WEB_MIME = "audio/mpeg"
TELEGRAM_MIME = "audio/ogg"
_MARKUP = re.compile(r"[*_`#>~]+")
_SPEAKABLE = re.compile(r"\w")
# The folder for personal messages read without a sender (never shared; purged by age).
ANONYMOUS_OWNER = "0" * 32


@dataclass(frozen=True)
class Audio:
    """A message read aloud: `ogg` (OGG/Opus, for Telegram voice notes) and `mp3` (for the web chat)."""

    ogg: Path
    mp3: Path
    engine: str
    from_cache: bool


def speakable(text: str) -> str:
    """The words of a message as they are read aloud: markdown marks dropped, spaces tidied."""
    return " ".join(_MARKUP.sub(" ", text or "").split())


def readable(text: str) -> bool:
    """True if a voice has something to read in the message: a letter or digit, not only emoji
    or marks."""
    return bool(_SPEAKABLE.search(speakable(text)))


def normalise_language(language: str) -> str:
    """A language tag in one spelling, so 'en_GB' and 'en-gb' share cache entries."""
    return (language or "en").replace("_", "-").lower()


class SpeechService:
    """Reads messages aloud with the first engine that works, caching every result on disk."""

    def __init__(
        self, engines: Sequence, cache: AudioCache, breakers: Optional[Dict[str, CircuitBreaker]] = None,
        *, personal: Sequence[Pattern] = (), owner_of: Optional[Callable[[str], str]] = None,
    ):
        self.engines = list(engines)
        # Messages matching `personal` carry a participant's words: their audio goes to the folder
        # owner_of(sender id) names (the participant's pseudonym), erased with the participant.
        self.personal = list(personal)
        self.owner_of = owner_of
        self.cache = cache
        self.breakers = dict(breakers or {})
        self.stats: collections.Counter = collections.Counter()
        self.seconds: collections.Counter = collections.Counter()  # time spent in each engine
        self._stats_lock = threading.Lock()
        self._silent = False
        self._failing: set = set()

    def synthesize(self, text: str, language: str = "en", sender: Optional[str] = None) -> Optional[Audio]:
        """Return the audio for a message, or None when no voice can read it (the text still goes out).

        sender: the Rasa sender id of the participant the message is for; a message with their
        own words in it is kept in their folder of the cache (see personal_owner).
        """
        if not readable(text):
            return None
        words = speakable(text)
        language = normalise_language(language)
        engines = [engine for engine in self.engines if engine.supports(language)]
        owner = self.personal_owner(words, sender)
        found = self._cached(engines, words, language, owner)
        if found:
            return found
        with self.cache.locked(message_key(language=language, text=words)):
            # Another thread or process may have rendered it while we waited.
            found = self._cached(engines, words, language, owner)
            if found:
                return found
            return self._render(engines, words, language, owner)

    def cached(self, text: str, language: str = "en", sender: Optional[str] = None) -> Optional[Audio]:
        """Return the cached audio for a message without rendering anything, or None."""
        language = normalise_language(language)
        engines = [engine for engine in self.engines if engine.supports(language)]
        words = speakable(text)
        return self._cached(engines, words, language, self.personal_owner(words, sender))

    def personal_owner(self, words: str, sender: Optional[str]) -> Optional[str]:
        """The cache folder owner for a message with a participant's words in it; None if shared."""
        if not any(pattern.fullmatch(words) for pattern in self.personal):
            return None
        if sender is None or self.owner_of is None:
            return ANONYMOUS_OWNER  # still apart from shared audio, and purged by age
        return self.owner_of(sender)

    def _cached(self, engines, words: str, language: str, owner: Optional[str] = None) -> Optional[Audio]:
        # Preferred engines first, whatever their breaker says: a file on disk costs nothing.
        for engine in engines:
            key = entry_key(engine=engine.name, voice=engine.voice, language=language, text=words)
            paths = self.cache.get(key, owner)
            if paths:
                self._count("cache_hit")
                return Audio(ogg=paths[0], mp3=paths[1], engine=engine.name, from_cache=True)
        return None

    def _render(self, engines, words: str, language: str, owner: Optional[str] = None) -> Optional[Audio]:
        for engine in engines:
            breaker = self.breakers.get(engine.name)
            if breaker and not breaker.allow():
                continue
            self._count(f"attempt.{engine.name}")
            started = time.monotonic()
            try:
                sound = engine.render(words, language)
                ogg, mp3 = to_ogg_opus(sound), to_mp3(sound)
            except EngineUnavailable as why:
                self._count(f"skip.{engine.name}", started)
                log.debug("%s cannot read this message: %s", engine.name, why)
                if breaker:
                    breaker.skipped()
                continue
            except Exception as error:
                self._count(f"fail.{engine.name}", started)
                self._engine_failed(engine, breaker, error)
                continue
            if breaker:
                breaker.succeeded()
            self._failing.discard(engine.name)
            key = entry_key(engine=engine.name, voice=engine.voice, language=language, text=words)
            paths = self.cache.put(key, ogg=ogg, mp3=mp3, owner=owner)
            self._count(f"render.{engine.name}", started)
            log.debug("%s read %d characters in %.2f s", engine.name, len(words), time.monotonic() - started)
            if self._silent:
                log.info("Audio works again, using %s", engine.name)
                self._silent = False
            return Audio(ogg=paths[0], mp3=paths[1], engine=engine.name, from_cache=False)
        self._count("no_audio")
        if not self._silent:
            # Once per outage, not per message; participants still get the text.
            log.error("No voice could read a message; sending text only until a voice works again")
            self._silent = True
        return None

    def _engine_failed(self, engine, breaker: Optional[CircuitBreaker], error: Exception) -> None:
        newly = engine.name not in self._failing
        self._failing.add(engine.name)
        if breaker is not None:
            breaker.failed()
        if newly and breaker is not None:
            log.warning(
                "%s failed (%s: %s); not trying it again for %.0f s",
                engine.name, type(error).__name__, error, breaker.cooldown,
            )
        elif newly:
            log.warning("%s failed: %s: %s", engine.name, type(error).__name__, error)
        else:
            log.debug("%s still failing: %s", engine.name, error)

    def _count(self, name: str, started: Optional[float] = None) -> None:
        with self._stats_lock:
            self.stats[name] += 1
            if started is not None:
                self.seconds[name.split(".")[-1]] += time.monotonic() - started


def build_speech_service(settings, *, piper: Optional[PiperEngine] = None) -> SpeechService:
    """Build the speech service from settings; pass `piper` to share an already loaded voice."""
    choice = (settings.tts or "auto").strip().lower()
    if choice not in ENGINE_ORDERS:
        raise ValueError(f"COPRODUCE_TTS must be one of {', '.join(ENGINE_ORDERS)}, not {settings.tts!r}")
    makers = {
        "gtts": lambda: GttsEngine(timeout=settings.gtts_timeout, url=settings.gtts_url),
        "piper": lambda: piper or PiperEngine(),
        "espeak": EspeakEngine,
    }
    engines = [makers[name]() for name in ENGINE_ORDERS[choice]]
    breakers = {"gtts": CircuitBreaker(settings.tts_breaker_seconds)}
    return SpeechService(engines, AudioCache(settings.audio_dir), breakers,
                         personal=personal_patterns(Path(settings.project_root) / "domain.yml"),
                         owner_of=audio_owner(settings))


def audio_owner(settings) -> Callable[[str], str]:
    """Sender id -> the folder name of their personal audio: their pseudonym in the store."""
    from bot.identity import Pseudonymizer, load_hash_key

    return Pseudonymizer(load_hash_key(settings)).pseudonym
