"""Warming the cache from a Rasa domain, the `audio` CLI group and terminal playback."""
import stat
import textwrap

from click.testing import CliRunner

from bot.cli import main
from bot.speech.cli import audio
from bot.speech.play import play_or_path
from bot.speech.warm import warm_domain

DOMAIN = textwrap.dedent(
    """\
    version: "3.1"
    responses:
      utter_greet:
        - text: "Hello. I am the Coproduce helper."
      utter_name:
        - text: "Nice to meet you, {name}."
      utter_bye:
        - text: "Goodbye for now."
        - text: "Hello. I am the Coproduce helper."
        - image: "https://example.org/wave.png"
    """
)


def test_warm_domain_renders_fixed_texts_and_skips_placeholders(make_service, tmp_path):
    domain = tmp_path / "domain.yml"
    domain.write_text(DOMAIN)
    service = make_service(tts="espeak")

    first = warm_domain(service, domain, progress=False)
    assert (first.texts, first.rendered, first.cached, first.templated, first.failed) == (3, 2, 0, 1, 0)
    second = warm_domain(service, domain, progress=False)
    assert (second.rendered, second.cached) == (0, 2)
    assert service.cached("Goodbye for now.") is not None


def test_warm_domain_renders_what_a_voice_note_says_of_buttons(make_service, tmp_path):
    """A Telegram voice note says the buttons' titles its words do not: rendered ahead too."""
    domain = tmp_path / "domain.yml"
    domain.write_text(textwrap.dedent("""\
        version: "3.1"
        responses:
          utter_ask:
            - text: "Do you want to take part?"
              buttons:
                - {title: "Yes", payload: /affirm}
                - {title: "No", payload: /deny}
        """))
    service = make_service(tts="espeak")
    assert warm_domain(service, domain, progress=False).rendered == 2
    assert service.cached("Do you want to take part?\nYes.\nNo.") is not None


def test_cli_say_and_warm(tmp_path):
    domain = tmp_path / "domain.yml"
    domain.write_text(DOMAIN)
    env = {"COPRODUCE_TTS": "espeak", "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio")}
    runner = CliRunner()

    said = runner.invoke(audio, ["say", "Hello there."], env=env)
    assert said.exit_code == 0, said.output
    assert "engine: espeak" in said.output and ".ogg" in said.output

    warmed = runner.invoke(audio, ["warm", "--domain", str(domain), "--no-progress"], env=env)
    assert warmed.exit_code == 0, warmed.output
    assert "2 rendered" in warmed.output and "1 skipped" in warmed.output


def test_cli_user_errors_are_one_line(tmp_path):
    runner = CliRunner()
    env = {"COPRODUCE_TTS": "espeak", "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio")}
    missing = runner.invoke(audio, ["warm", "--domain", str(tmp_path / "nope.yml")], env=env)
    assert missing.exit_code != 0
    assert missing.output.strip().count("\n") == 0 and "No domain file" in missing.output

    bad = runner.invoke(audio, ["say", "Hello."], env=dict(env, COPRODUCE_TTS="loud"))
    assert bad.exit_code != 0
    assert bad.output.strip().count("\n") == 0 and "COPRODUCE_TTS" in bad.output


def test_cli_warm_names_the_broken_domain_file_and_line(tmp_path):
    """A domain file (or one in a domain folder) that is not YAML is one line, not a traceback."""
    env = {"COPRODUCE_TTS": "espeak", "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio")}
    folder = tmp_path / "domain"
    folder.mkdir()
    (folder / "good.yml").write_text(DOMAIN)
    bad = folder / "bad.yml"
    bad.write_text("responses:\n  utter_x:\n    - text: [\n")
    for given in (bad, folder):
        result = CliRunner(mix_stderr=False).invoke(
            main, ["audio", "warm", "--domain", str(given), "--no-progress"], env=env)
        assert result.exit_code == 1, result.stderr
        assert result.stderr == (f"coproduce: The domain file {bad} is not valid YAML at line 4 "
                                 "(expected the node content, but found '<stream end>').\n")
    (folder / "list.yml").write_text("- one\n- two\n")
    bad.unlink()
    result = CliRunner(mix_stderr=False).invoke(
        main, ["audio", "warm", "--domain", str(folder), "--no-progress"], env=env)
    assert result.stderr == (f"coproduce: The domain file {folder / 'list.yml'} is not a Rasa "
                             "domain (a mapping with responses).\n")


def test_play_or_path_without_sound_device_gives_path(make_service, tmp_path, monkeypatch):
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    audio_file = make_service(tts="espeak").synthesize("Hello.")
    assert play_or_path(audio_file, devices=tmp_path / "no-snd") == audio_file.mp3


def test_play_or_path_plays_where_there_is_a_device(make_service, tmp_path, monkeypatch):
    devices = tmp_path / "snd"
    devices.mkdir()
    (devices / "pcmC0D0p").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    played = tmp_path / "played.wav"
    fake_aplay = bin_dir / "aplay"
    fake_aplay.write_text(f'#!/bin/sh\ncat > "{played}"\n')
    fake_aplay.chmod(fake_aplay.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))

    audio_file = make_service(tts="espeak").synthesize("Hello.")
    assert play_or_path(audio_file, devices=devices) is None
    assert played.read_bytes()[:4] == b"RIFF"


def test_cli_say_with_no_words_says_so(tmp_path):
    env = {"COPRODUCE_TTS": "espeak", "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio")}
    for text in ("", "   ", "**", "\U0001F642", "\U0001F642 !"):
        said = CliRunner().invoke(main, ["audio", "say", text], env=env)
        assert said.exit_code == 1, said.output
        assert said.output.strip().count("\n") == 0
        assert "There are no words to read" in said.output
        assert "No voice" not in said.output
    assert not (tmp_path / "audio").exists()


def test_cli_say_refuses_a_message_too_long_to_read_aloud(tmp_path):
    env = {"COPRODUCE_TTS": "espeak", "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio")}
    said = CliRunner(mix_stderr=False).invoke(main, ["audio", "say", "Hello there. " * 800],
                                              env=env)
    assert said.exit_code == 1
    assert said.stderr == ("coproduce: The message is too long to read aloud: 10,400 characters "
                           "(at most 1,000).\n")
    assert not (tmp_path / "audio").exists()  # nothing was read
    assert CliRunner().invoke(main, ["audio", "say", "x" * 1000], env=env).exit_code == 0


def test_cli_say_when_no_voice_works_says_how_to_see_why(tmp_path):
    from tests.conftest import free_port

    env = {"COPRODUCE_TTS": "gtts", "COPRODUCE_GTTS_URL": f"http://127.0.0.1:{free_port()}/",
           "COPRODUCE_AUDIO_DIR": str(tmp_path / "audio")}
    said = CliRunner(mix_stderr=False).invoke(main, ["audio", "say", "Hello there."], env=env)
    assert said.exit_code == 1
    assert said.stderr.splitlines()[-1] == (
        "coproduce: No voice could read this message. To see why, run it again as "
        "`coproduce --log-level DEBUG audio say ...`.")
