"""gTTS's own path against a local server that answers like Google's batchexecute endpoint."""
from urllib.parse import unquote

import soundfile


def test_gtts_path_against_local_google(make_service, fake_google, google_mp3, assert_plausible):
    service = make_service(tts="auto", gtts_url=fake_google.url)
    audio = service.synthesize("Hello from the fake Google server.")

    assert audio.engine == "gtts"
    assert audio.mp3.read_bytes() == google_mp3  # Google's MP3 is served to the web as it came
    assert_plausible(audio.ogg, "Hello from the fake Google server.")
    assert soundfile.info(str(audio.ogg)).subtype == "OPUS"

    path, body = fake_google.requests[0]
    assert path == "/_/TranslateWebserverUi/data/batchexecute"
    assert "Hello from the fake Google server." in unquote(body)
    assert service.stats["render.gtts"] == 1


def test_full_endpoint_url_is_used_as_given(make_service, fake_google):
    service = make_service(tts="gtts", gtts_url=fake_google.url + "/custom/path")
    assert service.synthesize("Hello.").engine == "gtts"
    assert fake_google.requests[0][0] == "/custom/path"
