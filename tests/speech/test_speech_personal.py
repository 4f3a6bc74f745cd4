"""Audio of messages with a participant's own words is kept apart, and goes when they are erased."""
from __future__ import annotations

import os
import time
from datetime import timedelta

from bot.app import build_services
from bot.settings import Settings
from bot.speech.cache import PERSONAL
from bot.speech.service import ANONYMOUS_OWNER, build_speech_service
from bot.store.migrate import upgrade


def settings_in(tmp_path) -> Settings:
    return Settings.from_env({}, var_dir=tmp_path, audio_dir=tmp_path / "audio", hash_key="test-key",
                             database_url=f"sqlite:///{tmp_path / 'coproduce.db'}", tts="espeak")


def audio_files(root):
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.suffix == ".mp3")


def test_your_words_are_read_into_your_own_folder(tmp_path):
    settings = settings_in(tmp_path)
    speech = build_speech_service(settings)
    mine = speech.synthesize("Thank you. You said: I love my allotment", "en", "web-alice")
    theirs = speech.synthesize("Thank you. You said: I love my allotment", "en", "web-bob")
    shared = speech.synthesize("Thank you for taking part.", "en", "web-alice")
    again = speech.synthesize("Thank you for taking part.", "en", "web-bob")
    alice, bob = speech.owner_of("web-alice"), speech.owner_of("web-bob")
    assert mine.mp3.parent == settings.audio_dir / PERSONAL / alice
    assert theirs.mp3.parent == settings.audio_dir / PERSONAL / bob
    assert PERSONAL not in shared.mp3.parts and again.mp3 == shared.mp3 and again.from_cache
    assert speech.cached("Thank you. You said: I love my allotment", "en", "web-alice").mp3 == mine.mp3
    # with no sender the words still never reach the shared cache
    nobody = speech.synthesize("Thank you. You said: my secret", "en")
    assert nobody.mp3.parent.name == ANONYMOUS_OWNER


def test_erasure_deletes_their_audio_only(tmp_path):
    settings = settings_in(tmp_path)
    upgrade(settings.database_url)
    speech = build_speech_service(settings)
    speech.synthesize("Thank you. You said: the bus driver is kind", "en", "tg-carol")
    speech.synthesize("Thank you. You said: I want a job", "en", "tg-dan")
    shared = speech.synthesize("Thank you for taking part.", "en", "tg-carol")
    services = build_services(settings)
    services.data_rights.erase("tg-carol", background=False)
    left = audio_files(settings.audio_dir)
    assert not any(speech.owner_of("tg-carol") in name for name in left)
    assert any(speech.owner_of("tg-dan") in name for name in left)
    assert shared.mp3.exists()
    services.engine.dispose()


def test_purge_deletes_personal_audio_nobody_touched_since_the_cut_off(tmp_path):
    settings = settings_in(tmp_path)
    upgrade(settings.database_url)
    speech = build_speech_service(settings)
    old = speech.synthesize("Thank you. You said: long ago", "en", "web-old").mp3.parent
    new = speech.synthesize("Thank you. You said: just now", "en", "web-new").mp3.parent
    long_ago = time.time() - 400 * 86400
    os.utime(old, (long_ago, long_ago))
    services = build_services(settings)
    services.data_rights.purge(timedelta(days=365), dry_run=False, actor="test",
                               delete_old_events=lambda cutoff, dry_run: 0)
    assert not old.exists() and new.exists()
    services.engine.dispose()
