"""The `themes` command group: tag answers from JSON Lines, measure and train the tagger, and
let staff set an answer's themes by hand."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import click

from bot.cli_options import ROW_ID, by_option
from bot.themes.evaluate import unknown_themes
from bot.themes.records import checked_record, read_labelled, unknown_themes_message

log = logging.getLogger(__name__)

TAG_BATCH = 256


def extra_examples(settings) -> Iterable[Tuple[str, List[str]]]:
    """(text, theme ids) that a participant or staff member confirmed or set, from the store.

    None if the store is not set up yet; a store that cannot be reached stops the command, so a
    tagger is never saved without the tags people confirmed.
    """
    from bot.app import build_services
    from bot.store.db import DatabaseMissingError

    try:
        services = build_services(settings, existing_database=True)
    except DatabaseMissingError:  # no store here yet: nothing confirmed, and none is made
        log.warning("No answers stored yet (there is no database): training on the repository's "
                    "examples only")
        return []
    try:
        return services.tagging.confirmed_for_training(strict=True)
    finally:
        services.engine.dispose()


def retag_store(settings, tagger) -> int:
    """Tag again every stored answer no person has tagged (a person's tags are never touched)."""
    from bot.app import build_services
    from bot.store.db import DatabaseMissingError

    try:
        services = build_services(settings, existing_database=True)
    except DatabaseMissingError:  # no store: no answers to tag again
        return 0
    try:
        services.tagging.set_tagger(tagger)
        return services.tagging.retag_all()
    finally:
        services.engine.dispose()


def is_live_model(settings, path: Path) -> bool:
    """True if path is the tagger file the running assistant uses (the themes_model setting)."""
    return Path(path).resolve() == Path(settings.themes_model).resolve()


def _retag_stored_answers(settings, tagger) -> None:
    """Tag the stored answers again with the new tagger and say how many."""
    try:
        click.echo(f"Tagged {retag_store(settings, tagger)} stored answers again "
                   "(answers a person tagged keep their themes).")
    except Exception as error:  # e.g. a database that is not set up yet: nothing to tag again
        from bot.store.db import is_missing_table

        if not is_missing_table(error):
            log.warning("Could not tag stored answers again: %s", (str(error).splitlines() or [""])[0])


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


def _check_model_target(path: Path, *, given: bool) -> None:
    """Stop with one line if the tagger could not be saved at path: a --model folder that does
    not exist (not made for it: it may be a typo), a folder in its place, or one we may not
    write to. The default folder (var/themes) is made if need be."""
    import tempfile

    folder = path.parent
    if given and not folder.is_dir():
        raise click.ClickException(f"The folder {folder} does not exist.")
    if path.is_dir():
        raise click.ClickException(f"Cannot write {path}: it is a folder, not an ordinary file. "
                                   "Choose a file name for --model.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # the tagger is saved through a file beside it
            pass
    except OSError as error:
        raise click.ClickException(f"Cannot write {path}: {error.strerror or error}.") from None


def engagement_themes(settings) -> List[str]:
    """The theme ids of the engagement (engagement.yml), in its order: what every command tags."""
    from bot.engagement import EngagementError, load_engagement

    try:
        return [theme.id for theme in load_engagement(settings.engagement_file).themes]
    except EngagementError as error:
        raise click.ClickException(str(error)) from None


def _could_not(verb: str, error: Exception) -> str:
    """One line for a tagger that could not be loaded or trained; for a theme with too few
    examples to learn (an engagement's new theme), what to do about it."""
    message = f"Could not {verb} the theme tagger: {str(error).rstrip('.')}."
    if "Too few examples" in str(error):
        message += (" Add examples of it to data/themes/examples.jsonl, or set it on two or more "
                    "stored answers with `coproduce themes set ANSWER_ID --theme ID`, then run "
                    "`coproduce themes train`.")
    return message


def _tagger(settings, model: Optional[Path]):
    from bot.themes.encoder import EncoderUnavailable
    from bot.themes.examples import ExamplesError
    from bot.themes.loading import load_or_train
    from bot.themes.tagger import TaggerError, ThemeTagger

    themes = engagement_themes(settings)
    if model is not None:
        if not Path(model).is_file():
            # A mistyped --model must not quietly train (and write) a tagger somewhere new.
            raise click.ClickException(
                f"There is no theme tagger at {model}. Train one there with `coproduce themes "
                f"train --model {model}`, or leave out --model to use the default one.")
        try:
            saved = ThemeTagger.load(Path(model))
        except (TaggerError, EncoderUnavailable, OSError) as error:
            raise click.ClickException(_could_not("load", error)) from None
        if set(saved.theme_ids) != set(themes):  # never trained again in a file staff named
            raise click.ClickException(
                f"The theme tagger at {model} knows other themes ({', '.join(saved.theme_ids)}) "
                f"than the engagement's ({', '.join(themes)}). Train it again with `coproduce "
                f"themes train --model {model}`.")
        return saved  # the file staff named, as it is (loaded once)

    def confirmed():  # read from the store only if the tagger has to be trained
        yield from extra_examples(settings)

    try:
        return load_or_train(Path(settings.themes_model), extra_examples=confirmed(), themes=themes)
    except (TaggerError, EncoderUnavailable, ExamplesError, OSError) as error:
        raise click.ClickException(_could_not("load", error)) from None


@click.group("themes")
def themes() -> None:
    """Tag answers with co-production themes, measure the tagger and train it."""


@themes.command("tag")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Tagger file made by `themes train --model` (default: var/themes/tagger.npz, "
                   "trained there if missing).")
@click.option("--skip-bad", is_flag=True,
              help="Skip a bad line with a warning instead of stopping at it.")
def tag(model: Optional[Path], skip_bad: bool) -> None:
    """Read JSON Lines with a "text" field on standard input; write each back with "themes" and "scores".

    All other fields are kept ("themes" and "scores" are replaced); blank lines are skipped,
    so every other line gives one line out, in order. A line that is not a JSON
    object with a "text" string (or that holds NaN or Infinity) stops the command with exit
    code 1 after the lines before it are written, unless --skip-bad is given. A lone surrogate
    escape such as "\\ud800" becomes U+FFFD, the replacement character.
    """
    from bot.cli_options import decode_line
    from bot.themes.examples import ExamplesError, parse_json_line, text_of

    settings = _settings()
    tagger = _tagger(settings, model)
    order = engagement_themes(settings)  # the same order whoever trained the tagger
    pending: List[dict] = []

    def flush() -> None:
        for record, result in zip(pending, tagger.tag([record["text"] for record in pending])):
            record["themes"] = [theme for theme in order if theme in result.themes]
            record["scores"] = {theme: result.scores[theme] for theme in order}
            click.echo(json.dumps(record, ensure_ascii=False, allow_nan=False))
        pending.clear()

    for number, raw in enumerate(click.get_binary_stream("stdin"), start=1):
        try:
            record = checked_record(parse_json_line(decode_line(raw, number, "input line"), number),
                                    number)
            if record is None:
                continue
            text_of(record, number)
        except (ExamplesError, click.ClickException) as error:
            message = error.format_message() if isinstance(error, click.ClickException) else str(error)
            if not skip_bad:
                flush()
                raise click.ClickException(message) from None
            click.echo(f"Warning: skipped {message}", err=True)
            continue
        pending.append(record)
        if len(pending) >= TAG_BATCH:
            flush()
    flush()


@themes.command("eval")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help='JSON Lines with "text" and "themes" (a list of theme ids).')
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Tagger file made by `themes train --model` (default: var/themes/tagger.npz, "
                   "trained there if missing).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def evaluate_command(data_path: Path, model: Optional[Path], as_json: bool) -> None:
    """Print precision, recall and F1 per theme, and micro and macro F1, on labelled answers."""
    from bot.themes.evaluate import evaluate, format_report

    settings = _settings()
    numbered = read_labelled(data_path)
    if not numbered:
        raise click.ClickException(f"No answers in {data_path}")
    known = engagement_themes(settings)
    unknown = unknown_themes(numbered, known)
    if unknown:
        raise click.ClickException(unknown_themes_message(unknown, known, data_path))
    report = evaluate(_tagger(settings, model), [example for _, example in numbered], known)
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


@themes.command("train")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Where to write the tagger (default: var/themes/tagger.npz). Stored answers "
                   "are tagged again only by the tagger the assistant uses.")
@click.option("--examples", "examples_path", type=click.Path(path_type=Path), default=None,
              help="Examples file (default: data/themes/examples.jsonl in the repository).")
def train(model: Optional[Path], examples_path: Optional[Path]) -> None:
    """Train the tagger again on the repository's examples plus confirmed tags from the store."""
    from bot.themes.encoder import EncoderUnavailable
    from bot.themes.examples import EXAMPLES_FILE, ExamplesError
    from bot.themes.loading import retrain
    from bot.themes.tagger import TaggerError

    settings = _settings()
    themes = engagement_themes(settings)
    path = _model_path(settings, model)
    _check_model_target(path, given=model is not None)  # before minutes of training, not after
    if examples_path is not None:
        numbered = read_labelled(examples_path)  # a bad line stops here, before the store is read
        unknown = unknown_themes(numbered, themes)
        if unknown:
            raise click.ClickException(unknown_themes_message(unknown, themes, examples_path))
    extra = list(extra_examples(settings))
    click.echo(f"Training the theme tagger ({len(extra)} extra examples from the store) ...")
    try:
        tagger = retrain(path, extra_examples=extra, examples_file=examples_path or EXAMPLES_FILE,
                         themes=themes)
    except (TaggerError, EncoderUnavailable, ExamplesError, OSError) as error:
        raise click.ClickException(_could_not("train", error)) from None
    click.echo(f"Trained on {tagger.trained_on} examples; {len(tagger.theme_ids)} themes; saved to {path}")
    if is_live_model(settings, path):
        _retag_stored_answers(settings, tagger)
    else:
        click.echo(f"Not applied to stored answers: the assistant uses the tagger at "
                   f"{settings.themes_model}, not this one.")
    for theme, threshold in zip(tagger.theme_ids, tagger.thresholds):
        click.echo(f"  {theme}: threshold {threshold:.3f}")


@themes.command("list")
@click.option("--set-by", type=click.Choice(["auto", "participant", "staff"]), default=None,
              help="Only answers whose themes the tagger (auto), the participant or staff set.")
@click.option("--question", "question_id", default=None, metavar="ID", help="Only this question.")
@click.option("--theme", "theme_id", default=None, metavar="ID", help="Only answers with this theme.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True,
              help="At most this many answers, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_answers(set_by: Optional[str], question_id: Optional[str], theme_id: Optional[str],
                 limit: int, as_json: bool) -> None:
    """List stored answers with their id and themes, to check them and fix them with `themes set`.
    Answers flagged for safeguarding are left out."""
    from bot.app import build_services
    from bot.store import theme_queries

    services = build_services(_settings(), existing_database=True)
    try:
        if theme_id is not None:
            _check_theme_ids(services.tagging, [theme_id])
        if question_id is not None and services.engagement.question_by_id(question_id) is None:
            raise click.ClickException(
                f"Unknown question id {question_id!r}. The questions are: "
                f"{', '.join(q.id for q in services.engagement.questions)}.")
        with services.sessions() as session:
            answers = theme_queries.answers_to_review(session, set_by=set_by,
                                                      question_id=question_id,
                                                      theme_id=theme_id, limit=limit + 1)
            order = {theme.id: index for index, theme in enumerate(services.engagement.themes)}
            for answer in answers[:limit]:
                click.echo(_review_line(answer, as_json, order))
        if not answers and not as_json:
            click.echo("No answers found.")
        if len(answers) > limit:  # never cut short without a word (on stderr: JSON stays clean)
            oldest = "This is the oldest answer" if limit == 1 else f"These are the oldest {limit} answers"
            click.echo(f"{oldest}; there are more. "
                       f"Use --limit to see more (for example --limit {limit * 2}).", err=True)
    finally:
        services.engine.dispose()


REVIEW_TEXT_CHARS = 100


def _review_line(answer, as_json: bool, order: Dict[str, int]) -> str:
    """One answer for `themes list`: id, question, themes (in the engagement's order) with their
    source, the words."""
    tags = [{"theme": tag.theme_id, "source": tag.source}
            for tag in sorted(answer.themes, key=lambda tag: (order.get(tag.theme_id, len(order)),
                                                              tag.theme_id))]
    if as_json:
        return json.dumps({"answer_id": answer.id, "question_id": answer.question_id,
                           "themes": tags, "themes_set_by": answer.themes_set_by,
                           "text": answer.text}, ensure_ascii=False)
    themes = ", ".join(f"{tag['theme']} ({tag['source']})" for tag in tags) \
        or f"none ({answer.themes_set_by or 'auto'})"
    words = " ".join(answer.text.split())
    if len(words) > REVIEW_TEXT_CHARS:
        words = words[:REVIEW_TEXT_CHARS].rsplit(" ", 1)[0] + " ..."
    return f"{answer.id:>6}  {answer.question_id}  [{themes}]  {words}"


@themes.command("set")
@click.argument("answer_id", type=ROW_ID)
@click.option("--theme", "theme_ids", multiple=True, metavar="ID",
              help="A theme id the answer speaks to; give --theme once for each theme.")
@click.option("--none", "no_theme", is_flag=True, help="The answer speaks to none of the themes.")
@by_option
def set_themes(answer_id: int, theme_ids: Tuple[str, ...], no_theme: bool, actor: str) -> None:
    """Set an answer's themes by hand (or say it has none); the tagger never changes them after."""
    from bot.app import build_services
    from bot.tagging import ThemesRefused

    if theme_ids and no_theme:
        raise click.UsageError("Give either --theme or --none, not both.")
    if not theme_ids and not no_theme:
        raise click.UsageError("Give the answer's themes with --theme ID (once for each "
                               "theme), or --none if none of the themes fit.")
    chosen = list(dict.fromkeys(theme_ids))
    services = build_services(_settings(), existing_database=True)
    try:
        services.tagging.set_by_staff(answer_id, chosen, actor=actor)
    except ThemesRefused as error:
        raise click.ClickException(str(error)) from None
    finally:
        services.engine.dispose()
    click.echo(_stored_themes_message(services.engagement, answer_id, chosen))


def _check_theme_ids(tagging, theme_ids: Sequence[str]) -> None:
    """Stop with one line naming the unknown theme ids, and the ids the engagement knows."""
    from bot.tagging import ThemesRefused

    try:
        tagging.check_theme_ids(theme_ids)
    except ThemesRefused as error:
        raise click.ClickException(str(error)) from None


def _stored_themes_message(engagement, answer_id: int, theme_ids: Sequence[str]) -> str:
    """What was stored, in plain words."""
    if not theme_ids:
        return (f"Answer {answer_id} now has none of the themes, set by staff. "
                "The tagger will not change that.")
    names = ", ".join(f"{engagement.theme_by_id(theme).name} ({theme})" for theme in theme_ids)
    these, them = ("these themes", "them") if len(theme_ids) > 1 else ("the theme", "it")
    return (f"Answer {answer_id} now has {these}, set by staff: {names}. "
            f"The tagger will not change {them}.")


if __name__ == "__main__":  # pragma: no cover - `python -m bot.themes.cli` before the lead wires it in
    themes(prog_name="themes")
