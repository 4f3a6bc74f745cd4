"""Rasa's own checks: the training data validates, and every test story is predicted exactly."""
import re
import subprocess
import sys

from bot.settings import PROJECT_ROOT

RASA = [sys.executable, "-m", "rasa"]


def test_rasa_data_validate_is_clean():
    result = subprocess.run(RASA + ["data", "validate", "--data", "nlu", "stories"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    # Responses spoken by custom actions are not named in rules, which Rasa reports.
    # Anything else is a real problem.
    unexpected = [w for w in warnings if not re.match(r"The utterance 'utter_\w+' is not used", w)]
    assert unexpected == []
    actions_source = "".join(p.read_text() for p in (PROJECT_ROOT / "actions").glob("*.py"))
    actions_source += "".join(p.read_text() for p in (PROJECT_ROOT / "bot").rglob("*.py"))
    unused = [w.split("'")[1] for w in warnings if w.split("'")[1] not in actions_source]
    transport_only = {"utter_server_resting", "utter_message_kept", "utter_resting_kept",
                      "utter_send_again"}
    assert set(unused) <= transport_only, f"responses nobody says: {unused}"


def test_every_story_is_predicted(trained_model, tmp_path):
    result = subprocess.run(
        RASA + ["test", "core", "--model", str(trained_model), "--stories",
                "tests/rasa/test_stories.yml", "--fail-on-prediction-errors",
                "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "None of the test stories failed" in (tmp_path / "failed_test_stories.yml").read_text()
