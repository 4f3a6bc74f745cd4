"""`coproduce telegram` as a process: one clear line on bad settings; a real run, stopped by SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from bot.settings import PROJECT_ROOT
from bot.wording import response_text

COMMAND = [sys.executable, "-m", "bot.telegram.cli"]


def run(env: dict, timeout: float = 60.0) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COPRODUCE_"))}
    return subprocess.run(COMMAND, cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=timeout)


def test_a_missing_token_is_one_clear_line(tmp_path):
    result = run({"COPRODUCE_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "coproduce: TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and set "
        "TELEGRAM_BOT_TOKEN."]


def test_a_wrong_token_is_one_clear_line(fake_api, tmp_path, telegram_domain):
    result = run({"COPRODUCE_VAR_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:wrong",
                  "TELEGRAM_BASE_URL": fake_api.url, "COPRODUCE_TTS": "espeak",
                  # domain.yml, or a copy with the transport's proposed responses until it has them
                  "COPRODUCE_PROJECT_ROOT": str(telegram_domain.parent)})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "coproduce: Telegram did not accept TELEGRAM_BOT_TOKEN. Check the token from @BotFather.")


@pytest.mark.servers
def test_the_command_polls_answers_and_stops_on_sigterm(fake_api, rasa_servers, tmp_path,
                                                        telegram_domain):
    env = {**{k: v for k, v in rasa_servers.settings.to_env().items()},
           "TELEGRAM_BOT_TOKEN": fake_api.token, "TELEGRAM_BASE_URL": fake_api.url,
           "COPRODUCE_TTS": "espeak", "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio"),
           "COPRODUCE_PROJECT_ROOT": str(telegram_domain.parent)}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COPRODUCE_"))}
    process = subprocess.Popen(COMMAND, cwd=PROJECT_ROOT, env={**clean, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake_api.wait_for(lambda: fake_api.calls_to("getUpdates"), 60, "the bot to poll")
        ida = fake_api.user(424242003)
        ida.ask(lambda: ida.command("start"), response_text(telegram_domain, "utter_ask_sound"))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Stopped." in out
    assert fake_api.token not in err and str(ida.id) not in err
