"""The audio cache: one render per message across threads and processes, and valid files."""
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import soundfile

from bot.settings import PROJECT_ROOT


def test_twenty_threads_render_a_new_message_once(make_service, assert_plausible):
    service = make_service(tts="piper")
    text = "Your ideas help us make the service better for everyone."
    start = threading.Barrier(20)
    results = []

    def ask():
        start.wait()
        results.append(service.synthesize(text))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert service.stats["render.piper"] == 1
    assert service.stats["attempt.piper"] == 1
    assert len(results) == 20 and {r.ogg for r in results} == {results[0].ogg}
    for result in results:
        assert_plausible(result.ogg, text)
        assert soundfile.info(str(result.mp3)).format == "MP3"
    assert not list(results[0].ogg.parent.glob("*.tmp"))


def test_processes_render_a_new_message_once(tmp_path):
    runs = tmp_path / "runs.txt"
    slow_espeak = tmp_path / "espeak-ng"
    slow_espeak.write_text(f'#!/bin/sh\necho run >> "{runs}"\nsleep 1\nexec espeak-ng "$@"\n')
    slow_espeak.chmod(slow_espeak.stat().st_mode | stat.S_IEXEC)
    script = (
        "import sys\n"
        "from bot.speech.cache import AudioCache\n"
        "from bot.speech.engines import EspeakEngine\n"
        "from bot.speech.service import SpeechService\n"
        "service = SpeechService([EspeakEngine(program=sys.argv[1])], AudioCache(sys.argv[2]))\n"
        "print(service.synthesize('Thank you for taking part.').ogg)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(slow_espeak), str(tmp_path / "audio")],
                         stdout=subprocess.PIPE, env=env, text=True)
        for _ in range(4)
    ]
    paths = {worker.communicate(timeout=30)[0].strip() for worker in workers}
    assert all(worker.returncode == 0 for worker in workers)
    assert runs.read_text().count("run") == 1
    assert len(paths) == 1 and Path(paths.pop()).exists()


def test_cache_hit_needs_no_engine(make_service):
    service = make_service(tts="espeak")
    service.synthesize("See you next time.")
    started = time.perf_counter()
    again = service.synthesize("  See   you next time. ")
    assert again.from_cache and time.perf_counter() - started < 0.05
    assert service.stats["render.espeak"] == 1


def test_nothing_to_say_gives_none(make_service):
    service = make_service(tts="espeak")
    assert service.synthesize("  *** ") is None
    assert service.stats["no_audio"] == 0
