"""Everyday co-production answers (held out from the model's training) are rarely flagged."""
import json
from pathlib import Path

from bot.safeguarding import detect

HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "everyday_answers_holdout.jsonl"


def test_everyday_answers_are_rarely_false_alarms():
    texts = [json.loads(line)["text"] for line in HOLDOUT.read_text().splitlines() if line.strip()]
    flagged = [t for t in texts if detect(t).disclosure]
    assert len(texts) > 100
    assert len(flagged) / len(texts) < 0.05, flagged


def test_ordinary_answers_from_the_conversation_are_not_flagged():
    for text in ("My friends and my flat", "Going to work at the cafe", "Staff who know me",
                 "Long waits at the doctors", "I feel safe at home"):
        assert not detect(text).disclosure, text
