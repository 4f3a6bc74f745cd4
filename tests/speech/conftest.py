"""Fixtures for the speech tests: settings and service factories, and fake network peers for gTTS."""
from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import soundfile

from bot.settings import Settings
from bot.speech.engines import PiperEngine
from bot.speech.service import build_speech_service


@pytest.fixture(scope="session")
def piper():
    """One Piper engine with its voice loaded, shared by every test (the load is slow)."""
    engine = PiperEngine()
    engine.load()
    return engine


@pytest.fixture
def make_settings(tmp_path):
    """Settings with a fresh audio folder and a short gTTS timeout; keyword overrides win."""

    def make(**overrides):
        values = dict(audio_dir=tmp_path / "audio", gtts_timeout=0.5, tts_breaker_seconds=300.0)
        values.update(overrides)
        return Settings.from_env({}, **values)

    return make


@pytest.fixture
def make_service(make_settings, piper):
    """A speech service built from settings overrides, reusing the loaded Piper voice."""

    def make(**overrides):
        return build_speech_service(make_settings(**overrides), piper=piper)

    return make


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens, so connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server_url():
    """A URL on 127.0.0.1 whose server takes the connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)  # the kernel completes connections; we never accept or reply
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def espeak_mp3(text: str) -> bytes:
    """A real MP3 of the text, made with espeak-ng and soundfile, as Google would send."""
    wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True).stdout
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="MP3")
    return out.getvalue()


class FakeGoogle(ThreadingHTTPServer):
    """A local HTTP server answering like Google Translate's batchexecute endpoint."""

    daemon_threads = True

    def __init__(self, mp3: bytes):
        super().__init__(("127.0.0.1", 0), _GoogleHandler)
        self.mp3 = mp3
        self.failing = False
        self.requests = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _GoogleHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.server.requests.append((self.path, body))
        if self.server.failing:
            self.send_error(503)
            return
        payload = json.dumps([base64.b64encode(self.server.mp3).decode()])
        # gTTS's regex wants Google's compact JSON: jQ1olc","[\"<base64>\"]
        rpc = [["wrb.fr", "jQ1olc", payload, None, None, None, "generic"]]
        line = json.dumps(rpc, separators=(",", ":"))
        content = f")]}}'\n\n{len(line)}\n{line}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def google_mp3():
    """The MP3 the fake Google server sends back."""
    return espeak_mp3("Hello from the fake Google server.")


@pytest.fixture
def fake_google(google_mp3):
    """A running fake Google TTS server on 127.0.0.1."""
    server = FakeGoogle(google_mp3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _assert_plausible(path, text: str) -> float:
    samples, rate = soundfile.read(str(path), dtype="float32")
    words = len(text.split())
    seconds = len(samples) / rate
    assert 0.2 * words <= seconds <= 1.5 * words, (seconds, words)
    assert abs(samples).max() > 0.01
    return seconds


@pytest.fixture
def assert_plausible():
    """Check that a file decodes and lasts 0.2-1.5 s per word of its text; returns the seconds."""
    return _assert_plausible
