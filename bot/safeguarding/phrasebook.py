"""Load and compile the maintained safeguarding phrase list (data/safeguarding/phrases.yml)."""
from __future__ import annotations

import dataclasses
import functools
import logging
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.safeguarding.text import Normaliser

log = logging.getLogger(__name__)

DEFAULT_PHRASES = Path(__file__).resolve().parents[2] / "data" / "safeguarding" / "phrases.yml"
_MACRO = re.compile(r"\{(\w+)\}")


class PhraseBookError(ValueError):
    """The phrase file is missing, unreadable or has a pattern that does not compile."""


@dataclasses.dataclass(frozen=True)
class Phrase:
    """One compiled pattern with the evidence it gives when it matches."""

    category: str
    regex: re.Pattern
    weight: float
    negatable: bool
    hypothetical: bool
    immediate: bool
    source: str


@dataclasses.dataclass(frozen=True)
class Scoring:
    """How matched weights and the intent signal become one score and a flag."""

    threshold: float = 0.5
    intent_floor: float = 0.3
    hypothetical_factor: float = 0.4


@dataclasses.dataclass(frozen=True)
class Scope:
    """Which words open a scope (negation, "if") and which words close it."""

    cues: frozenset
    barriers: frozenset
    window: int
    cancel: frozenset = frozenset()


@dataclasses.dataclass(frozen=True)
class PhraseBook:
    """Everything the detector needs, compiled once from the phrase file."""

    normaliser: Normaliser
    masks: tuple
    phrases: tuple
    negation: Scope
    hypothetical: Scope
    immediacy: re.Pattern | None
    context_categories: tuple
    scoring: Scoring
    source: str = ""


@functools.lru_cache(maxsize=8)
def load_phrasebook(path: Path | str | None = None) -> PhraseBook:
    """Read and compile the phrase file at path (default data/safeguarding/phrases.yml), cached."""
    path = Path(path) if path else DEFAULT_PHRASES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PhraseBookError(f"cannot read safeguarding phrases {path}: {error}") from error
    book = build_phrasebook(raw, source=str(path))
    log.info("loaded %d safeguarding phrases from %s", len(book.phrases), path)
    return book


def build_phrasebook(raw: Mapping[str, Any], *, source: str = "") -> PhraseBook:
    """Compile a phrase list given as parsed YAML (a test can pass a small dict)."""
    if not isinstance(raw, Mapping) or "categories" not in raw:
        raise PhraseBookError(f"safeguarding phrases {source or '(dict)'} have no categories")
    macros = _expand_macros(raw.get("macros") or {})
    scoring = Scoring(**(raw.get("scoring") or {}))
    negation = raw.get("negation") or {}
    hypothetical = raw.get("hypothetical") or {}
    fuzzy = raw.get("fuzzy") or {}
    normaliser = Normaliser(
        spellings=_invert_spellings(raw.get("spellings") or {}),
        rewrites=[tuple(pair) for pair in raw.get("rewrites") or ()],
        fuzzy_targets=fuzzy.get("targets") or (),
        fuzzy_keep=fuzzy.get("keep") or (),
        fuzzy_min_length=int(fuzzy.get("min_length", 6)),
    )
    phrases = []
    for category, spec in raw["categories"].items():
        default_weight = float(spec.get("weight", 0.9))
        default_hypothetical = bool(spec.get("default_hypothetical", True))
        for entry in spec.get("patterns") or ():
            entry = {"re": entry} if isinstance(entry, str) else dict(entry)
            phrases.append(
                Phrase(
                    category=category,
                    regex=_compile(_substitute(entry["re"], macros), category),
                    weight=float(entry.get("weight", default_weight)),
                    negatable=bool(entry.get("negatable", True)),
                    hypothetical=bool(entry.get("hypothetical", default_hypothetical)),
                    immediate=bool(entry.get("immediate", False)),
                    source=entry["re"],
                )
            )
    immediacy = raw.get("immediacy") or ()
    return PhraseBook(
        normaliser=normaliser,
        masks=tuple(_compile(_substitute(mask, macros), "masks") for mask in raw.get("masks") or ()),
        phrases=tuple(phrases),
        negation=Scope(
            cues=frozenset(negation.get("cues") or ()),
            barriers=frozenset(negation.get("barriers") or ()),
            window=int(negation.get("window", 4)),
        ),
        hypothetical=Scope(
            cues=frozenset(hypothetical.get("cues") or ()),
            barriers=frozenset(hypothetical.get("barriers") or ()),
            window=int(hypothetical.get("window", 8)),
            cancel=frozenset(hypothetical.get("cancel") or ()),
        ),
        immediacy=_compile("|".join(f"(?:{cue})" for cue in immediacy), "immediacy") if immediacy else None,
        context_categories=tuple(
            (name, re.compile(pattern)) for name, pattern in (raw.get("context_categories") or {}).items()
        ),
        scoring=scoring,
        source=source,
    )


def _invert_spellings(spellings: Mapping[str, list]) -> dict[str, str]:
    inverted = {}
    for canonical, variants in spellings.items():
        for variant in variants or ():
            inverted[str(variant)] = str(canonical)
    return inverted


def _expand_macros(macros: Mapping[str, str]) -> dict[str, str]:
    expanded = dict(macros)
    for _ in range(5):  # macros may use macros; five levels is plenty
        expanded = {name: _substitute(value, expanded, strict=False) for name, value in expanded.items()}
    return expanded


def _substitute(pattern: str, macros: Mapping[str, str], *, strict: bool = True) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in macros:
            return macros[name]
        if strict and not name.isdigit():
            raise PhraseBookError(f"unknown macro {{{name}}} in safeguarding pattern {pattern!r}")
        return match.group(0)

    return _MACRO.sub(replace, pattern)


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        # Whole words only: no letter or digit may touch either end of a match.
        return re.compile(rf"(?<![^\W_])(?:{pattern})(?![^\W_])")
    except re.error as error:
        raise PhraseBookError(f"bad safeguarding pattern in {where}: {pattern!r}: {error}") from error
