"""Measure the safeguarding detector: recall and false alarms on the labelled sets, and speed.

Run: .venv/bin/python bench/safeguarding.py
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.safeguarding.detector import Detector  # noqa: E402
from bot.safeguarding.phrasebook import load_phrasebook  # noqa: E402

SETS = {
    "test set (tuned on)": ROOT / "tests" / "data" / "safeguarding_cases.jsonl",
    "holdout (written after freezing)": ROOT / "tests" / "data" / "safeguarding_holdout.jsonl",
}


def measure(detector: Detector, cases: list[dict]) -> str:
    """Recall and false-alarm rate of detector on cases, as one line."""
    flagged = [detector.detect(case["text"]).disclosure for case in cases]
    hits = [f for f, case in zip(flagged, cases) if case["disclosure"]]
    alarms = [f for f, case in zip(flagged, cases) if not case["disclosure"]]
    return (
        f"recall {sum(hits) / len(hits):.3f} ({sum(hits)}/{len(hits)})  "
        f"false alarms {sum(alarms) / len(alarms):.3f} ({sum(alarms)}/{len(alarms)})"
    )


def main() -> None:
    """Print the figures for the full detector and for the phrase list alone."""
    book = load_phrasebook()
    start = time.perf_counter()
    full = Detector(book)
    full.model()
    print(f"model trained in {time.perf_counter() - start:.2f}s")
    detectors = {"phrases + model": full, "phrases only": Detector(dataclasses.replace(book, model=None))}
    for set_name, path in SETS.items():
        cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for name, detector in detectors.items():
            print(f"{set_name:34s} {name:16s} {measure(detector, cases)}")
    messages = [json.loads(line)["text"] for line in SETS["test set (tuned on)"].read_text().splitlines()]
    messages = (messages * 2)[:1000]
    start, cpu = time.perf_counter(), time.process_time()
    for message in messages:
        full.detect(message)
    print(f"1000 messages in {time.perf_counter() - start:.3f}s ({time.process_time() - cpu:.3f}s CPU)")
    huge = "I like the day centre and the bus is slow. " * 240 + "he hits me"
    start = time.perf_counter()
    full.detect(huge)
    print(f"one {len(huge)}-character message in {time.perf_counter() - start:.3f}s")


if __name__ == "__main__":
    main()
