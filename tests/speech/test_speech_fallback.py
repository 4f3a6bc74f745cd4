"""gTTS meeting a dead network: the offline voice answers within the timeout and the breaker holds."""
import logging
import time

import soundfile


def test_refused_connection_falls_back_and_opens_breaker(make_service, closed_port_url, assert_plausible):
    service = make_service(tts="auto", gtts_url=closed_port_url, gtts_timeout=0.5)
    started = time.monotonic()
    first = service.synthesize("Thank you for your answer.")
    first_seconds = time.monotonic() - started

    assert first.engine == "piper" and not first.from_cache
    assert first_seconds < 0.5 + 2.0
    assert_plausible(first.ogg, "Thank you for your answer.")

    started = time.monotonic()
    second = service.synthesize("What would you like to tell us?")
    assert second.engine == "piper"
    assert time.monotonic() - started < 1.5
    assert service.stats["attempt.gtts"] == 1  # the second message never asked gTTS


def test_silent_server_times_out_then_breaker_skips_gtts(make_service, silent_server_url):
    service = make_service(tts="auto", gtts_url=silent_server_url, gtts_timeout=0.5)
    started = time.monotonic()
    first = service.synthesize("Can you tell us more?")
    first_seconds = time.monotonic() - started
    assert first.engine == "piper"
    assert first_seconds < 0.5 + 2.0
    assert service.stats["fail.gtts"] == 1

    started = time.monotonic()
    assert service.synthesize("Here is the next question.").engine == "piper"
    assert time.monotonic() - started < 1.5
    assert service.stats["attempt.gtts"] == 1


def test_every_engine_failing_gives_none_and_logs_once(make_service, fake_google, caplog):
    fake_google.failing = True
    service = make_service(tts="gtts", gtts_url=fake_google.url, tts_breaker_seconds=0.3)
    with caplog.at_level(logging.INFO, logger="bot.speech"):
        assert service.synthesize("First message.") is None
        assert service.synthesize("Second message.") is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert len(fake_google.requests) == 1  # the breaker kept the second message off the network

    # Half-open: after the cooldown one trial goes through, and it works again.
    fake_google.failing = False
    time.sleep(0.35)
    audio = service.synthesize("Third message.")
    assert audio.engine == "gtts"
    assert service.synthesize("Fourth message.").engine == "gtts"
    assert len(fake_google.requests) == 3


def test_cached_offline_audio_is_served_without_rendering(make_service, closed_port_url):
    offline = make_service(tts="piper")
    made = offline.synthesize("You can stop at any time.")

    online = make_service(tts="auto", gtts_url=closed_port_url)
    found = online.synthesize("You can stop at any time.")
    assert found.ogg == made.ogg and found.from_cache
    assert online.stats["attempt.gtts"] == 0
    assert not any(name.startswith("render.") for name in online.stats)


def test_espeak_is_the_last_resort(make_service, assert_plausible):
    service = make_service(tts="espeak")
    audio = service.synthesize("Press the green button to start.")
    assert audio.engine == "espeak"
    seconds = assert_plausible(audio.ogg, "Press the green button to start.")
    mp3_info = soundfile.info(str(audio.mp3))
    assert abs(mp3_info.frames / mp3_info.samplerate - seconds) < 0.3


def test_language_piper_cannot_speak_goes_to_espeak(make_service, closed_port_url):
    service = make_service(tts="auto", gtts_url=closed_port_url)
    assert service.synthesize("Bonjour tout le monde.", "fr").engine == "espeak"
