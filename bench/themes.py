"""Time the theme tagger: model load, and tagging 1,000 distinct answers (run by hand).

    .venv/bin/python bench/themes.py [--model PATH] [--cv] [--dev ../shared/data/themes_dev.jsonl]

The answers are the repository's examples, and as many again made by joining two of them
(longer, like carers' stories), cut to the first 1,000 distinct ones of each kind. Targets on
the two-core machine: load under 2 s, 1,000 answers under 2 s. --cv adds 5-fold
cross-validation on the examples; --dev adds the figures on a labelled file (measurement only).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANSWERS = 1000


def answer_sets(texts):
    """Two sets of 1,000 distinct answers: the examples as they are, and pairs of them joined."""
    rng = random.Random(7)
    short = list(dict.fromkeys(texts))
    while len(short) < ANSWERS:  # fewer examples than that: vary them a little
        short.append(f"{rng.choice(texts)} {rng.choice(['Yes.', 'Really.', 'That is all.'])}")
    joined = set()
    while len(joined) < ANSWERS:
        first, second = rng.sample(texts, 2)
        joined.add(f"{first.rstrip('.')}. {second}")
    return {"examples": short[:ANSWERS], "two joined": sorted(joined)}


def time_load(model_path: Path) -> float:
    """Seconds to import the package and load the tagger in a fresh Python process."""
    code = ("import time; t = time.perf_counter(); from bot.themes import ThemeTagger; "
            f"ThemeTagger.load({str(model_path)!r}); print(time.perf_counter() - t)")
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(output.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print load time, tagging time per 1,000 answers, and optionally quality figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="tagger file (default: var/themes/tagger.npz)")
    parser.add_argument("--cv", action="store_true", help="also cross-validate on the examples")
    parser.add_argument("--dev", type=Path, default=None, help="also evaluate on this labelled file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from bot.settings import Settings
    from bot.themes import cross_validate, evaluate, format_report, load_examples, load_or_train
    from bot.themes.loading import default_model_path
    from bot.themes.encoder import ENCODER_FILE, VOCAB_FILE

    model_path = args.model or default_model_path(Settings.from_env())
    started = time.perf_counter()
    tagger = load_or_train(model_path)  # trains on first use
    print(f"model: {model_path} (ready in {time.perf_counter() - started:.1f} s in this process)")
    loads = [time_load(model_path) for _ in range(args.repeat)]
    print(f"load (fresh process, import + load): best {min(loads):.2f} s, median {statistics.median(loads):.2f} s")

    texts = [example.text for example in load_examples()]
    for name, answers in answer_sets(texts).items():
        words = statistics.mean(len(answer.split()) for answer in answers)
        tagger.tag(answers[:50])  # warm up the runtime
        runs = []
        for _ in range(args.repeat):
            fresh = type(tagger).load(model_path)  # empty caches: every word is new
            started = time.perf_counter()
            fresh.tag(answers)
            runs.append(time.perf_counter() - started)
        print(f"tag {len(answers)} distinct answers ({name}, mean {words:.0f} words): "
              f"best {min(runs):.2f} s, median {statistics.median(runs):.2f} s")
    print(f"cores: {os.cpu_count()}; load average now: {os.getloadavg()[0]:.2f}")

    if args.cv:
        with tempfile.TemporaryDirectory() as scratch:
            encoder_dir = Path(scratch)
            for name in (ENCODER_FILE, VOCAB_FILE):
                os.symlink(model_path.parent / name, encoder_dir / name)
            started = time.perf_counter()
            report = cross_validate(load_examples(), encoder_dir=encoder_dir, folds=5)
        print(f"\n5-fold cross-validation on the examples ({time.perf_counter() - started:.0f} s):")
        print(format_report(report))
    if args.dev:
        print(f"\nEvaluation on {args.dev}:")
        print(format_report(evaluate(tagger, load_examples(args.dev))))


if __name__ == "__main__":
    main()
