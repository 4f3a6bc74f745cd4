"""Theme examples: read and check JSON Lines of answers with their theme ids."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, TextIO, Tuple

from bot.settings import PROJECT_ROOT

EXAMPLES_FILE = PROJECT_ROOT / "data" / "themes" / "examples.jsonl"


class ExamplesError(ValueError):
    """A line of an examples or answers file that cannot be used; the message names the line."""


class ThemeExample(NamedTuple):
    """One answer and the ids of the themes it speaks to (empty when it speaks to none)."""

    text: str
    themes: Tuple[str, ...]


def parse_json_line(line: str, number: int, source: str = "input") -> Optional[dict]:
    """The JSON object on one line, None for a blank line; raise ExamplesError otherwise."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ExamplesError(f"{source} line {number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ExamplesError(f"{source} line {number}: expected a JSON object")
    return record


def read_json_lines(lines: Iterable[str], source: str = "input") -> Iterator[Tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; raise ExamplesError on bad JSON."""
    for number, line in enumerate(lines, start=1):
        record = parse_json_line(line, number, source)
        if record is not None:
            yield number, record


def text_of(record: dict, number: int, source: str = "input") -> str:
    """The record's `text` field, checked to be a string."""
    text = record.get("text")
    if "text" not in record:
        raise ExamplesError(f'{source} line {number}: missing a "text" string')
    if not isinstance(text, str):
        raise ExamplesError(f'{source} line {number}: "text" must be a string, not '
                            f'{"null" if text is None else type(text).__name__}')
    return text


def example_from_record(record: dict, number: int, source: str = "input") -> ThemeExample:
    """A ThemeExample from a record with `text` and a `themes` list of ids."""
    text = text_of(record, number, source)
    themes = record.get("themes")
    if not isinstance(themes, list) or not all(isinstance(theme, str) and theme for theme in themes):
        raise ExamplesError(f'{source} line {number}: "themes" must be a list of theme ids')
    return ThemeExample(text, tuple(dict.fromkeys(themes)))


def read_examples(stream: TextIO, source: str = "input") -> List[ThemeExample]:
    """Read every example from an open JSON Lines stream."""
    return [example_from_record(record, number, source) for number, record in read_json_lines(stream, source)]


def load_examples(path: Path = EXAMPLES_FILE) -> List[ThemeExample]:
    """Read the examples in a JSON Lines file (by default the repository's data/themes/examples.jsonl)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as stream:
            return read_examples(stream, source=str(path))
    except OSError as error:
        raise ExamplesError(f"Cannot read {path}: {error.strerror or error}") from None


def as_examples(pairs: Iterable[Sequence]) -> List[ThemeExample]:
    """Turn (text, theme ids) pairs, e.g. staff-confirmed tags from the store, into examples."""
    examples = []
    for text, themes in pairs:
        if not isinstance(text, str):
            raise ExamplesError(f"Example text must be a string, got {type(text).__name__}")
        examples.append(ThemeExample(text, tuple(dict.fromkeys(themes))))
    return examples


def theme_ids_in(examples: Iterable[ThemeExample]) -> List[str]:
    """Every theme id the examples use, in order of first appearance."""
    seen = {}
    for example in examples:
        for theme in example.themes:
            seen.setdefault(theme, None)
    return list(seen)
