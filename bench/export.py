"""Measure `coproduce export`: time and peak memory for 100,000 answers in CSV, XLSX and JSON.

Builds a scratch SQLite database, then runs each export in a fresh process so that its peak
RSS is its own. Targets: CSV under 5 s, XLSX under 30 s, each under 300 MB.

Run: .venv/bin/python bench/export.py [--answers 100000] [--database-url EMPTY_DB_URL]
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("I like my friends and my job . the bus is late again staff listen to me "
         "a quiet place helps = + - @ money home safe club café ☕ music walk garden "
         "people do not listen long waits noise support worker mum dad sister day centre").split()
TARGETS = {"csv": 5.0, "xlsx": 30.0, "json": 5.0}
MEMORY_LIMIT_MB = 300


def build_database(url: str, answers: int, seed: int = 7) -> None:
    """Fill an empty database with participants, `answers` answers to export, 1% more flagged
    for safeguarding (left out of the export), and theme tags."""
    from sqlalchemy import insert

    from bot.engagement import load_engagement
    from bot.settings import Settings
    from bot.store.db import make_engine
    from bot.store.migrate import upgrade
    from bot.store.models import Answer, AnswerTheme, Participant

    upgrade(url)
    engagement = load_engagement(Settings.from_env().engagement_file)
    themes = [theme.id for theme in engagement.themes]
    questions = [question.id for question in engagement.questions]
    rng = random.Random(seed)
    people = max(1, answers // 5)
    total = answers + answers // 100
    flagged = set(rng.sample(range(1, total + 1), total - answers))
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(Participant.__table__), [
            {"id": n, "pseudonym": f"{n:032x}", "engagement_id": engagement.id,
             "channel": rng.choice(("telegram", "web")),
             "role": rng.choice(("self", "on_behalf", "support_worker")), "question_index": 0,
             "status": "finished", "created_at": start, "updated_at": start}
            for n in range(1, people + 1)])
        for first in range(1, total + 1, 10_000):
            rows, tags = [], []
            for n in range(first, min(first + 10_000, total + 1)):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
                rows.append({"id": n, "participant_id": rng.randint(1, people),
                             "question_id": rng.choice(questions), "text": text,
                             "role": None, "channel": "telegram", "channel_message_id": str(n),
                             "flagged": n in flagged,
                             "created_at": start + timedelta(seconds=n * 37)})
                for theme in rng.sample(themes, rng.randint(0, 2)):
                    tags.append({"answer_id": n, "theme_id": theme,
                                 "source": rng.choice(("auto", "auto", "auto", "participant")),
                                 "score": round(rng.random(), 3), "created_at": start})
            connection.execute(insert(Answer.__table__), rows)
            if tags:
                connection.execute(insert(AnswerTheme.__table__), tags)
    if engine.dialect.name == "postgresql":  # as autovacuum would soon: fresh planner statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def run_one(url: str, fmt: str, out: Path) -> dict:
    """Export in this process and report rows, seconds and peak RSS (the child's side)."""
    from bot.app import build_services
    from bot.settings import Settings
    from bot.staff.exports import export_answers
    from bot.store.staff_queries import AnswerFilter

    services = build_services(Settings.from_env(database_url=url))
    started, cpu = time.perf_counter(), time.process_time()
    with services.sessions() as session:
        result = export_answers(session, services.engagement, fmt=fmt, out=out,
                                answer_filter=AnswerFilter(), actor="bench")
        session.commit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": result.rows, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb,
            "size_mb": out.stat().st_size / 1e6}


def main() -> int:
    """Build the data, run each format in a fresh process and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None,
                        help="An empty database to fill (default: a scratch SQLite file).")
    parser.add_argument("--child", nargs=3, metavar=("URL", "FORMAT", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, fmt, out = args.child
        print(json.dumps(run_one(url, fmt, Path(out))))
        return 0
    failed = False
    with tempfile.TemporaryDirectory(prefix="coproduce-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        build_database(url, args.answers)
        print(f"built {args.answers} answers (+1% flagged) in {time.perf_counter() - started:.1f}s "
              f"on {url.split(':', 1)[0]}")
        for fmt in ("csv", "xlsx", "json"):
            out = Path(folder) / f"answers.{fmt}"
            started = time.perf_counter()
            child = subprocess.run([sys.executable, __file__, "--child", url, fmt, str(out)],
                                   capture_output=True, text=True, check=True, cwd=str(ROOT))
            wall = time.perf_counter() - started
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            ok = figures["seconds"] < TARGETS[fmt] and figures["peak_mb"] < MEMORY_LIMIT_MB
            failed |= not ok
            print(f"{fmt:5s} {figures['rows']} rows  export {figures['seconds']:.2f}s "
                  f"(CPU {figures['cpu']:.2f}s; whole process {wall:.2f}s)  "
                  f"peak RSS {figures['peak_mb']:.0f} MB  "
                  f"file {figures['size_mb']:.1f} MB  "
                  f"[target < {TARGETS[fmt]:.0f}s, < {MEMORY_LIMIT_MB} MB: "
                  f"{'ok' if ok else 'MISSED'}]")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
