"""Speech benchmark, run by hand: cache hits, offline synthesis, dead-gTTS give-up and domain warm-up."""
from __future__ import annotations

import dataclasses
import shutil
import logging
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import Settings  # noqa: E402
from bot.speech.engines import PiperEngine  # noqa: E402
from bot.speech.service import build_speech_service  # noqa: E402
from bot.speech.warm import warm_domain  # noqa: E402

TWENTY_WORDS = (
    "Thank you for telling us about your day. We will read every answer and "
    "share what we learn with you."
)
SMALL_DOMAIN = """\
responses:
  utter_greet:
    - text: "Hello. I am a helper for the Coproduce project."
  utter_why:
    - text: "We want to hear what you think about the help you get."
  utter_private:
    - text: "Your answers stay private unless someone may be at risk of harm."
  utter_name:
    - text: "Thank you, {name}."
"""


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    base = Settings.from_env()
    work = Path(tempfile.mkdtemp(prefix="speech-bench-"))
    print(f"settings: tts={base.tts} gtts_timeout={base.gtts_timeout}s breaker={base.tts_breaker_seconds}s")

    started = time.perf_counter()
    piper = PiperEngine()
    piper.load()
    print(f"piper voice load (once per service): {time.perf_counter() - started:.2f} s")

    def service(name, **overrides):
        values = dict(audio_dir=work / name)
        values.update(overrides)
        return build_speech_service(dataclasses.replace(base, **values), piper=piper)

    # Cache hits.
    cached = service("hits", tts="auto")
    cached.synthesize(TWENTY_WORDS)
    hits = []
    for _ in range(2000):
        started = time.perf_counter()
        cached.synthesize(TWENTY_WORDS)
        hits.append((time.perf_counter() - started) * 1000)
    print(f"cache hit: p50 {statistics.median(hits):.3f} ms, p95 {percentile(hits, 0.95):.3f} ms (target < 5 ms)")

    # Offline synthesis of a 20-word message, new text each time so nothing is cached.
    print(f"20-word message ({len(TWENTY_WORDS.split())} words), encoding to OGG/Opus and MP3 included:")
    for engine in ("piper", "espeak"):
        times = []
        for n in range(5):
            offline = service(f"offline-{engine}-{n}", tts=engine)  # an empty cache each time
            started = time.perf_counter()
            offline.synthesize(TWENTY_WORDS)
            times.append(time.perf_counter() - started)
        print(f"  {engine:6}: median {statistics.median(times):.2f} s, max {max(times):.2f} s")

    # A dead gTTS: the real Google URL (unreachable here) and a local server that never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(50)
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    for label, url in (("google (as configured)", base.gtts_url), ("silent local server", silent_url)):
        dead = service(f"dead-{len(url)}", tts="auto", gtts_url=url)
        print(f"dead gTTS, {label}:")
        for n in range(3):
            before = dead.seconds["gtts"]
            started = time.perf_counter()
            audio = dead.synthesize(f"Message number {n} while the network is down.")
            total = time.perf_counter() - started
            print(f"  message {n + 1}: gTTS waited {dead.seconds['gtts'] - before:.3f} s, "
                  f"total {total:.2f} s, voice {audio.engine if audio else None}")
    silent.close()

    # Warm-up of every fixed response in the domain.
    domain = base.project_root / "domain.yml"
    if not domain.exists():
        domain = work / "domain.yml"
        domain.write_text(SMALL_DOMAIN)
    warm = service("warm")
    for run in ("first", "second"):
        started = time.perf_counter()
        counts = warm_domain(warm, domain, progress=False)
        seconds = time.perf_counter() - started
        print(f"warm-up {run} run of {domain} ({base.tts}): {seconds:.2f} s, {counts}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
