"""The JSON Lines the themes commands read: each bad line named, strings made safe to write back."""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional

import click


def _clean_strings(value):
    """The parsed JSON value with every lone surrogate in its strings (keys too) replaced by
    U+FFFD, the replacement character, so it can be tagged and written as UTF-8."""
    from bot.text import without_lone_surrogates as clean

    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {_clean_strings(key): _clean_strings(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_clean_strings(item) for item in value]
    return value


def _has_non_finite(value) -> bool:
    """True if the parsed JSON value holds NaN or Infinity (which Python's json accepts)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


def checked_record(record: Optional[dict], number: int, source: str = "input") -> Optional[dict]:
    """A parsed line made safe to write back as JSON; NaN or Infinity make it a bad line."""
    from bot.themes.examples import ExamplesError

    if record is None:
        return None
    if _has_non_finite(record):
        raise ExamplesError(f"{source} line {number}: not valid JSON "
                            "(NaN and Infinity are not JSON numbers)")
    return _clean_strings(record)


def read_labelled(path: Path) -> list:
    """(line number, ThemeExample) for each answer in a JSON Lines file; a bad line, or one that
    is not UTF-8, stops the command with one clear error naming it."""
    from bot.cli_options import utf8_lines
    from bot.themes.examples import ExamplesError, example_from_record, read_json_lines

    try:
        with open(path, "rb") as stream:
            records = read_json_lines((line for _, line in utf8_lines(stream, f"{path} line")),
                                      source=str(path))
            return [(number, example_from_record(checked_record(record, number, str(path)),
                                                 number, str(path)))
                    for number, record in records]
    except OSError as error:
        raise click.ClickException(f"Cannot read {path}: {error.strerror or error}") from None
    except ExamplesError as error:
        raise click.ClickException(str(error)) from None


def unknown_themes_message(unknown: dict, known: List[str], path: Path) -> str:
    """One line naming each unknown theme id with its lines, and the ids the engagement knows."""
    def lines(numbers: List[int]) -> str:
        shown = ", ".join(str(number) for number in numbers[:5])
        more = f" and {len(numbers) - 5} more" if len(numbers) > 5 else ""
        return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"

    found = "; ".join(f"{theme!r} ({lines(numbers)})" for theme, numbers in unknown.items())
    what = "theme ids" if len(unknown) > 1 else "theme id"
    return (f"{path} has unknown {what}: {found}. "
            f"The engagement's themes are: {', '.join(known)}.")
