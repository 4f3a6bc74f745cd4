"""The `themes` command group: tag answers from JSON Lines, measure the tagger, train it again."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import click

log = logging.getLogger(__name__)

TAG_BATCH = 256


def extra_examples(settings) -> Iterable[Tuple[str, List[str]]]:
    """(text, theme ids) that a participant or staff member confirmed or set, from the store."""
    from bot.app import build_services

    services = build_services(settings)
    try:
        return services.tagging.confirmed_for_training()
    finally:
        services.engine.dispose()


def retag_store(settings, tagger) -> int:
    """Tag again every stored answer no person has tagged (a person's tags are never touched)."""
    from bot.app import build_services

    services = build_services(settings)
    try:
        services.tagging.set_tagger(tagger)
        return services.tagging.retag_all()
    finally:
        services.engine.dispose()


def _settings():
    from bot.settings import Settings

    found = click.get_current_context().find_object(Settings)
    if found is not None:
        return found
    try:
        return Settings.from_env()
    except ValueError as error:
        raise click.ClickException(f"Bad setting: {error}") from None


def _model_path(settings, model: Optional[Path]) -> Path:
    return Path(model) if model else Path(settings.themes_model)


def _tagger(settings, model: Optional[Path]):
    from bot.themes.encoder import EncoderUnavailable
    from bot.themes.examples import ExamplesError
    from bot.themes.loading import load_or_train
    from bot.themes.tagger import TaggerError

    def confirmed():  # read from the store only if the tagger has to be trained
        yield from extra_examples(settings)

    try:
        return load_or_train(_model_path(settings, model), extra_examples=confirmed())
    except (TaggerError, EncoderUnavailable, ExamplesError, OSError) as error:
        raise click.ClickException(f"Could not load the theme tagger: {error}") from None


@click.group("themes")
def themes() -> None:
    """Tag answers with co-production themes, measure the tagger and train it."""


@themes.command("tag")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Tagger file (default: var/themes/tagger.npz; trained there if missing).")
@click.option("--skip-bad", is_flag=True,
              help="Skip a bad line with a warning instead of stopping at it.")
def tag(model: Optional[Path], skip_bad: bool) -> None:
    """Read JSON Lines with a "text" field on standard input; write each back with "themes" and "scores".

    All other fields are kept ("themes" and "scores" are replaced). A line that is not a JSON
    object with a "text" string stops the command with exit code 1 after the lines before it
    are written, unless --skip-bad is given.
    """
    from bot.themes.examples import ExamplesError, parse_json_line, text_of

    tagger = _tagger(_settings(), model)
    pending: List[dict] = []

    def flush() -> None:
        for record, result in zip(pending, tagger.tag([record["text"] for record in pending])):
            record["themes"] = result.themes
            record["scores"] = result.scores
            click.echo(json.dumps(record, ensure_ascii=False))
        pending.clear()

    for number, line in enumerate(click.get_text_stream("stdin"), start=1):
        try:
            record = parse_json_line(line, number)
            if record is None:
                continue
            text_of(record, number)
        except ExamplesError as error:
            if not skip_bad:
                flush()
                raise click.ClickException(str(error)) from None
            click.echo(f"Warning: skipped {error}", err=True)
            continue
        pending.append(record)
        if len(pending) >= TAG_BATCH:
            flush()
    flush()


@themes.command("eval")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help='JSON Lines with "text" and "themes" (a list of theme ids).')
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Tagger file (default: var/themes/tagger.npz; trained there if missing).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def evaluate_command(data_path: Path, model: Optional[Path], as_json: bool) -> None:
    """Print precision, recall and F1 per theme, and micro and macro F1, on labelled answers."""
    from bot.themes.evaluate import evaluate, format_report
    from bot.themes.examples import ExamplesError, load_examples

    try:
        examples = load_examples(data_path)
    except ExamplesError as error:
        raise click.ClickException(str(error)) from None
    if not examples:
        raise click.ClickException(f"No answers in {data_path}")
    report = evaluate(_tagger(_settings(), model), examples)
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


@themes.command("train")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Where to write the tagger (default: var/themes/tagger.npz).")
@click.option("--examples", "examples_path", type=click.Path(path_type=Path), default=None,
              help="Examples file (default: data/themes/examples.jsonl in the repository).")
def train(model: Optional[Path], examples_path: Optional[Path]) -> None:
    """Train the tagger again on the repository's examples plus confirmed tags from the store."""
    from bot.themes.encoder import EncoderUnavailable
    from bot.themes.examples import EXAMPLES_FILE, ExamplesError
    from bot.themes.loading import retrain
    from bot.themes.tagger import TaggerError

    settings = _settings()
    path = _model_path(settings, model)
    extra = list(extra_examples(settings))
    click.echo(f"Training the theme tagger ({len(extra)} extra examples from the store) ...")
    try:
        tagger = retrain(path, extra_examples=extra, examples_file=examples_path or EXAMPLES_FILE)
    except (TaggerError, EncoderUnavailable, ExamplesError, OSError) as error:
        raise click.ClickException(f"Could not train the theme tagger: {error}") from None
    click.echo(f"Trained on {tagger.trained_on} examples; {len(tagger.theme_ids)} themes; saved to {path}")
    try:
        click.echo(f"Tagged {retag_store(settings, tagger)} stored answers again "
                   "(answers a person tagged keep their themes).")
    except Exception as error:  # e.g. a database that is not set up yet
        log.warning("Could not tag stored answers again: %s", error)
    for theme, threshold in zip(tagger.theme_ids, tagger.thresholds):
        click.echo(f"  {theme}: threshold {threshold:.3f}")


if __name__ == "__main__":  # pragma: no cover - `python -m bot.themes.cli` before the lead wires it in
    themes(prog_name="themes")
