"""Measure the safeguarding detector: recall and false alarms on the labelled sets, and speed.

Run: .venv/bin/python bench/safeguarding.py [--rasa-model models/coproduce-....tar.gz]

With --rasa-model, each message is also read by that Rasa model, and the figures are given with
its `disclose_harm` confidence as the chat uses it (intent_weight from phrases.yml) and as a full
signal that can flag on its own (weight 1.0, as before 2026-11-24), for comparison.
"""
from __future__ import annotations

import argparse
import asyncio
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
EVERYDAY = ROOT / "data" / "safeguarding" / "everyday_answers.jsonl"


def measure(detector: Detector, cases: list[dict], confidences=None) -> str:
    """Recall and false-alarm rate of detector on cases (with NLU's confidences), as one line."""
    confidences = confidences or [None] * len(cases)
    flagged = [detector.detect(case["text"], confidence).disclosure
               for case, confidence in zip(cases, confidences)]
    hits = [f for f, case in zip(flagged, cases) if case["disclosure"]]
    alarms = [f for f, case in zip(flagged, cases) if not case["disclosure"]]
    recall = f"recall {sum(hits) / len(hits):.3f} ({sum(hits)}/{len(hits)})  " if hits else ""
    return recall + f"false alarms {sum(alarms) / len(alarms):.3f} ({sum(alarms)}/{len(alarms)})"


def read_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def nlu_confidences(model_path: Path, texts: list[str]) -> list:
    """The Rasa model's disclose_harm confidence for each text (None where it is not ranked)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def read_all():
        found = []
        for text in texts:
            parsed = await agent.parse_message(text)
            found.append(next((intent["confidence"] for intent in parsed["intent_ranking"]
                               if intent["name"] == "disclose_harm"), None))
        return found
    return asyncio.run(read_all())


def with_nlu(book, full: Detector, model_path: Path) -> None:
    """Print the figures with the Rasa model's intent signal, as the chat uses it and at full weight."""
    detectors = {f"+ NLU at {book.scoring.intent_weight}": full,
                 "+ NLU at 1.0": Detector(dataclasses.replace(
                     book, scoring=dataclasses.replace(book.scoring, intent_weight=1.0)),
                     model=full.model())}
    for set_name, path in {**SETS, "everyday answers (model data)": EVERYDAY}.items():
        cases = read_cases(path)
        confidences = nlu_confidences(model_path, [case["text"] for case in cases])
        for name, detector in detectors.items():
            print(f"{set_name:34s} {name:16s} {measure(detector, cases, confidences)}")


def main() -> None:
    """Print the figures for the full detector and for the phrase list alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-model", type=Path, default=None,
                        help="also measure with this Rasa model's disclose_harm intent")
    args = parser.parse_args()
    book = load_phrasebook()
    start = time.perf_counter()
    full = Detector(book)
    full.model()
    print(f"model trained in {time.perf_counter() - start:.2f}s")
    detectors = {"phrases + model": full, "phrases only": Detector(dataclasses.replace(book, model=None))}
    for set_name, path in SETS.items():
        cases = read_cases(path)
        for name, detector in detectors.items():
            print(f"{set_name:34s} {name:16s} {measure(detector, cases)}")
    if args.rasa_model:
        with_nlu(book, full, args.rasa_model)
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
