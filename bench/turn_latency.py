"""Turn latency over the REST channel: Coproduce against a bare `rasa init` assistant.

Run by hand: `.venv/bin/python bench/turn_latency.py [--turns N]`. Both assistants run in
this same run on this machine, with 1 and then 16 participants at once; it prints p50,
p95 and throughput for each and the ratio, and checks that every answer was stored.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_services  # noqa: E402
from bot.servers import Servers  # noqa: E402
from bot.rasa_model import ensure_model  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import queries  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from tests.conftest import free_port  # noqa: E402

OUR_OPENING = ["hello", "/sound_off", "/affirm", "/role_self"]
BARE_SCRIPT = ["hello", "I am great", "bye", "hi", "I am sad", "yes"]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def drive(url: str, participants: int, turns: int, script) -> dict:
    """Send `turns` messages per participant, all participants at once; time each turn."""
    latencies, errors = [], []
    lock = threading.Lock()

    def participant(index: int) -> None:
        sender = f"bench-{uuid.uuid4().hex[:8]}-{index}"
        http = requests.Session()
        for message in script(turns):
            started = time.perf_counter()
            response = http.post(url, json={"sender": sender, "message": message,
                                            "metadata": {"message_id": uuid.uuid4().hex}},
                                 timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200 or not response.json():
                    errors.append(message)

    started = time.perf_counter()
    threads = [threading.Thread(target=participant, args=(i,)) for i in range(participants)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"p50": percentile(latencies, 0.5) * 1000, "p95": percentile(latencies, 0.95) * 1000,
            "throughput": len(latencies) / wall, "turns": len(latencies), "errors": len(errors)}


def our_script(turns: int):
    """Consent, role, then answers: each answer and 'yes, add more' alternate."""
    messages = list(OUR_OPENING)
    n = 0
    while len(messages) < turns:
        n += 1
        messages += [f"Answer number {n}: my friends and my job", "/affirm"]
    return messages[:turns]


def bare_script(turns: int):
    return [BARE_SCRIPT[i % len(BARE_SCRIPT)] for i in range(turns)]


def start_bare(workdir: Path, port: int) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir",
                    str(workdir)], check=True, capture_output=True, cwd=workdir)
    process = subprocess.Popen([sys.executable, "-m", "rasa", "run", "--interface",
                                "127.0.0.1", "--port", str(port)], cwd=workdir,
                               env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    for _ in range(240):
        try:
            if requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.5)
    raise SystemExit("the bare assistant did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20, help="messages per participant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        settings = Settings.from_env(var_dir=scratch / "var", rasa_port=free_port(),
                                     action_port=free_port(),
                                     database_url=f"sqlite:///{scratch}/var/coproduce.db")
        upgrade(settings.database_url)
        model = ensure_model(settings)
        bare_port = free_port()
        print("Starting a bare `rasa init` assistant and Coproduce ...", flush=True)
        bare = start_bare(scratch / "bare", bare_port)
        servers = Servers(settings, model, env={**os.environ, **settings.to_env()})
        servers.start()
        try:
            ours_url = f"{settings.rasa_url}/webhooks/rest/webhook"
            bare_url = f"http://127.0.0.1:{bare_port}/webhooks/rest/webhook"
            drive(ours_url, 2, 6, our_script), drive(bare_url, 2, 6, bare_script)  # warm up
            services = build_services(settings)
            with services.sessions() as session:
                before = queries.count_answers(session)
            print(f"{'':24}{'p50 ms':>9}{'p95 ms':>9}{'turns/s':>9}{'errors':>8}")
            for participants in (1, 16):
                ours = drive(ours_url, participants, args.turns, our_script)
                base = drive(bare_url, participants, args.turns, bare_script)
                for name, result in (("coproduce", ours), ("bare rasa init", base)):
                    print(f"{name + f' x{participants}':24}{result['p50']:9.1f}{result['p95']:9.1f}"
                          f"{result['throughput']:9.1f}{result['errors']:8d}")
                print(f"{'ratio p95 (ours/bare)':24}{ours['p95'] / base['p95']:9.2f}")
            with services.sessions() as session:
                stored = queries.count_answers(session) - before
            expected = sum(p * sum(1 for m in our_script(args.turns) if m.startswith("Answer"))
                           for p in (1, 16))
            print(f"answers stored: {stored} of {expected} sent"
                  + (" (all persisted)" if stored == expected else " (MISSING ANSWERS)"))
        finally:
            servers.stop()
            os.killpg(bare.pid, 15)


if __name__ == "__main__":
    main()
