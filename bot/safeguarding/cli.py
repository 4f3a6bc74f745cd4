"""The `coproduce safeguarding` command group: check answers for disclosures of harm."""
from __future__ import annotations

import json
import math
from pathlib import Path

import click

from bot.safeguarding.detector import Detector, get_detector
from bot.safeguarding.phrasebook import PhraseBookError


@click.group()
def safeguarding():
    """Safeguarding: spot answers that disclose harm or risk."""


@safeguarding.command()
@click.option(
    "--phrases",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Phrase file to use instead of data/safeguarding/phrases.yml.",
)
@click.option(
    "--details",
    is_flag=True,
    help="Also write categories, matched phrases and immediate_danger.",
)
def check(phrases: Path | None, details: bool):
    """Read JSON Lines with a "text" field on stdin; write each back with disclosure and score.

    A numeric "intent_confidence" field, when present, is used as the Rasa
    disclose_harm confidence. Blank lines are skipped. Every line is checked
    before any is written, so a bad line produces no partial output.
    """
    records = [_parse(number, raw) for number, raw in _lines(click.get_binary_stream("stdin"))]
    detector = _detector(phrases)
    for record in records:
        if record is None:
            continue
        found = detector.detect(record["text"], record.get("intent_confidence"))
        record["disclosure"] = found.disclosure
        record["score"] = round(found.score, 4)
        if details:
            record["categories"] = found.categories
            record["matched"] = found.matched
            record["immediate_danger"] = found.immediate_danger
        click.echo(json.dumps(record, ensure_ascii=False))


def _lines(stream):
    """Yield (line number, decoded line) from a binary stream."""
    for number, raw in enumerate(stream, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise click.ClickException(f"line {number}: not UTF-8 text") from None


def _parse(number: int, line: str) -> dict | None:
    """One input line as a dict with a string "text", None for a blank line."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"line {number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise click.ClickException(f'line {number}: expected a JSON object with a "text" field')
    if not isinstance(record.get("text"), str):
        what = "has no" if "text" not in record else "has a non-string"
        raise click.ClickException(f'line {number}: {what} "text" field')
    confidence = record.get("intent_confidence")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not math.isfinite(confidence)
    ):
        raise click.ClickException(f'line {number}: "intent_confidence" must be a number')
    return record


def _detector(phrases: Path | None) -> Detector:
    try:
        return get_detector(phrases)
    except PhraseBookError as error:
        raise click.ClickException(str(error)) from None


if __name__ == "__main__":
    safeguarding(prog_name="coproduce safeguarding")
