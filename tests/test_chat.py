"""The terminal chat (`coproduce chat`) at the end of its input and with Rasa down."""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import free_port

COPRODUCE = str(Path(sys.executable).parent / "coproduce")


GREETING = [{"text": "Hello! Shall we start?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
THEMES = ["access", "care", "security", "skills", "valued", "safe", "purpose"]
# One turn of two messages with buttons, as the theme pick list is: 7 themes, then 2 more.
THEME_PICK_TURN = [
    {"text": "Which themes fit?",
     "buttons": [{"title": f"Theme {theme}", "payload": f'/pick_theme{{"theme": "{theme}"}}'}
                 for theme in THEMES]},
    {"text": "Press a theme, or:",
     "buttons": [{"title": "That is all", "payload": "/finish_picking"},
                 {"title": "None of these", "payload": "/no_theme"}]},
]


class FakeRasa(BaseHTTPRequestHandler):
    """Answers Rasa's REST webhook with the same messages every time (a greeting unless a test
    sets others), and keeps what it was sent."""

    sent = []
    reply = GREETING

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeRasa.sent.append(body["message"])
        reply = json.dumps(FakeRasa.reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_rasa():
    """A fake Rasa REST channel on a free port; yields its URL."""
    FakeRasa.sent, FakeRasa.reply = [], GREETING
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def chat_env(tmp_path, **extra):
    """Environment for a `coproduce chat` that keeps its files in tmp_path."""
    return {"COPRODUCE_VAR_DIR": str(tmp_path),
            "COPRODUCE_DATABASE_URL": f"sqlite:///{tmp_path / 'coproduce.db'}", **extra}


def test_chat_with_rasa_down_says_so_and_leaves_at_once(tmp_path):
    env = {**os.environ, **chat_env(tmp_path, COPRODUCE_RASA_PORT=str(free_port()))}
    result = subprocess.run([COPRODUCE, "chat"], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "The assistant is not answering at http://127.0.0.1:" in result.stderr
    assert "coproduce serve" in result.stderr
    assert "kept your message" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_chat_at_the_end_of_its_input_says_goodbye(tmp_path, fake_rasa):
    result = CliRunner().invoke(main, ["chat", "--sender", "terminal-eof"], input="",
                                env=chat_env(tmp_path, COPRODUCE_RASA_URL=fake_rasa))
    assert result.exit_code == 0, result.output
    assert FakeRasa.sent == ["/greet"]
    assert "Hello! Shall we start?" in result.output and "1. Yes" in result.output
    assert result.output.rstrip().endswith("Goodbye. Come back any time.")
    assert "kept your message" not in result.output
    assert "\x1b[" not in result.output  # no colour codes when the output is not a terminal


def test_chat_sends_what_was_typed_then_says_goodbye(tmp_path, fake_rasa):
    result = CliRunner().invoke(main, ["chat", "--sender", "terminal-typed"], input="1\n",
                                env=chat_env(tmp_path, COPRODUCE_RASA_URL=fake_rasa))
    assert result.exit_code == 0, result.output
    assert FakeRasa.sent == ["/greet", "/affirm"]
    assert result.output.rstrip().endswith("Goodbye. Come back any time.")


def test_buttons_of_one_turn_are_numbered_on_and_each_number_presses_its_own(tmp_path, fake_rasa):
    """A theme list then "That is all" / "None of these": 1-9 over both messages."""
    FakeRasa.reply = THEME_PICK_TURN
    result = CliRunner().invoke(main, ["chat", "--sender", "terminal-themes"], input="3\n2\n8\n9\n",
                                env=chat_env(tmp_path, COPRODUCE_RASA_URL=fake_rasa))
    assert result.exit_code == 0, result.output
    shown = [line.strip() for line in result.output.splitlines() if line.startswith("   ")]
    assert shown[:9] == [f"{number}. Theme {theme}" for number, theme in enumerate(THEMES, start=1)] \
        + ["8. That is all", "9. None of these"]
    assert FakeRasa.sent == ["/greet", '/pick_theme{"theme": "security"}',
                             '/pick_theme{"theme": "care"}', "/finish_picking", "/no_theme"]
