"""Helpers for the safeguarding tests: read the labelled cases and measure a detector on them."""
import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def read_cases(name: str) -> list[dict]:
    """Labelled cases from tests/data/<name>.jsonl."""
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def rates(detector, cases) -> tuple[float, float, list, list]:
    """Recall, false-alarm rate, missed cases and false alarms of detector on cases."""
    missed, alarms = [], []
    for case in cases:
        flagged = detector.detect(case["text"]).disclosure
        if case["disclosure"] and not flagged:
            missed.append(case["text"])
        if not case["disclosure"] and flagged:
            alarms.append(case["text"])
    positives = sum(case["disclosure"] for case in cases)
    negatives = len(cases) - positives
    return 1 - len(missed) / positives, len(alarms) / negatives, missed, alarms
