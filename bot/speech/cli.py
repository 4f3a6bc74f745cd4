"""The `audio` command group: warm the audio cache from the domain and read one message aloud."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import click

log = logging.getLogger(__name__)

# The longest fixed message is about 200 characters; a voice takes minutes over 10,000.
MAX_SAY_CHARS = 1000


def _service(settings):
    from bot.speech.service import build_speech_service

    try:
        return build_speech_service(settings)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _settings():
    from bot.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as error:
        raise click.ClickException(f"Bad setting: {error}") from None


@click.group("audio")
def audio() -> None:
    """Make and check the spoken versions of bot messages."""


@audio.command("warm")
@click.option("--domain", "domain_path", type=click.Path(path_type=Path), default=None,
              help="Rasa domain file or folder (default: domain.yml in the project).")
@click.option("--language", default="en", show_default=True, help="Language of the responses.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def warm(domain_path: Optional[Path], language: str, progress: bool) -> None:
    """Render every fixed response in the domain into the audio cache."""
    from bot.speech.warm import warm_domain
    from bot.wording import DomainFileError

    settings = _settings()
    path = domain_path or Path(settings.project_root) / "domain.yml"
    if not path.exists():
        raise click.ClickException(f"No domain file at {path}")
    try:
        counts = warm_domain(_service(settings), path, progress=progress, language=language)
    except DomainFileError as error:  # it names the file (one of a folder's) and the line
        raise click.ClickException(str(error)) from None
    except (OSError, ValueError) as error:
        raise click.ClickException(f"Could not read {path}: {error}") from None
    click.echo(
        f"{counts.texts} texts: {counts.rendered} rendered, {counts.cached} already cached, "
        f"{counts.templated} skipped (they contain {{placeholders}}), {counts.failed} failed"
    )
    if counts.failed:
        raise SystemExit(1)


@audio.command("say")
@click.argument("text")
@click.option("--language", default="en", show_default=True)
def say(text: str, language: str) -> None:
    """Read one message aloud into the cache and print the file paths."""
    from bot.speech.service import readable

    if not readable(text):
        raise click.ClickException('There are no words to read. Give the message in quotes, '
                                   'for example: coproduce audio say "Hello there."')
    if len(text) > MAX_SAY_CHARS:
        raise click.ClickException(f"The message is too long to read aloud: {len(text):,} "
                                   f"characters (at most {MAX_SAY_CHARS:,}).")
    result = _service(_settings()).synthesize(text, language)
    if result is None:
        # The CLI logs to standard error, not to a file: say how to see each voice's reason.
        raise click.ClickException("No voice could read this message. To see why, run it again "
                                   "as `coproduce --log-level DEBUG audio say ...`.")
    click.echo(f"engine: {result.engine}{' (cached)' if result.from_cache else ''}")
    click.echo(f"telegram (ogg/opus): {result.ogg}")
    click.echo(f"web (mp3): {result.mp3}")
