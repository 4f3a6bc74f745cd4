"""The command line: the terminal chat end to end, one-line errors, and the set-up script."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.chat import run_chat
from bot.cli import main
from bot.settings import PROJECT_ROOT


@pytest.mark.servers
def test_terminal_chat_runs_a_conversation_with_numbered_buttons(rasa_servers):
    said = iter(["2", "1", "1", "Music and my friends", "2", "stop"])
    out = []

    def read():
        try:
            return next(said)
        except StopIteration:
            raise EOFError

    run_chat(rasa_servers.settings, sender="terminal-test", read=read, echo=out.append)
    transcript = "\n".join(out)
    assert "1. Yes, read them out" in transcript
    assert "You said: Music and my friends" in transcript
    assert "kept your answers" in transcript


def test_run_without_a_terminal_keeps_serving_until_stopped(tmp_path, monkeypatch):
    """`make run` from a script (stdin not a terminal) must not read EOF and stop the servers."""
    import bot.cli as cli

    events = []

    class Servers:
        def stop(self):
            events.append("stopped")

    def wait(*_):
        events.append("waiting")
        raise KeyboardInterrupt  # what Ctrl-C or SIGTERM does

    monkeypatch.setattr(cli, "_prepare", lambda settings: tmp_path / "model.tar.gz")
    monkeypatch.setattr(cli, "_start_servers", lambda settings, model, web=False: Servers())
    monkeypatch.setattr(cli, "_wait_until_stopped", wait)
    monkeypatch.setattr("bot.chat.run_chat", lambda *a, **k: events.append("terminal chat"))
    result = CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path}/x.db", "run"], input="")
    assert result.exit_code == 0, result.output
    assert events == ["waiting", "stopped"]
    assert "keeps running until stopped" in result.output


def test_a_broken_engagement_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "engagement.yml"
    bad.write_text("title: [unclosed")
    result = CliRunner().invoke(main, ["--engagement", str(bad), "--database-url",
                                       f"sqlite:///{tmp_path}/x.db", "serve"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "not valid YAML" in result.output
    assert "Traceback" not in result.output


def test_a_database_that_cannot_be_reached_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(main, ["--database-url",
                                       "postgresql://nobody@127.0.0.1:1/none", "serve"])
    assert result.exit_code == 1 and "Could not prepare the database" in result.output
    assert "Traceback" not in result.output


def test_setup_without_python_310_says_how_to_install_it(tmp_path):
    shutil.copy(PROJECT_ROOT / "scripts" / "bootstrap.sh", tmp_path / "bootstrap.sh")
    (tmp_path / "scripts").mkdir()
    shutil.move(tmp_path / "bootstrap.sh", tmp_path / "scripts" / "bootstrap.sh")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "scripts/bootstrap.sh"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "Python 3.10" in result.stderr and "pyenv install 3.10" in result.stderr
