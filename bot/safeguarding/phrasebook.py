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
    # False when the pattern spells out a negation word itself ("nobody feeds me"),
    # so a cue inside the match is part of the phrase, not a negation of it.
    negation_inside: bool = True


@dataclasses.dataclass(frozen=True)
class Scoring:
    """How matched weights and the intent signal become one score and a flag."""

    threshold: float = 0.5
    intent_floor: float = 0.3
    intent_weight: float = 1.0  # the most the intent signal gives, at confidence 1
    hypothetical_factor: float = 0.4


@dataclasses.dataclass(frozen=True)
class Scope:
    """Which words open a scope (negation, "if") and which words close it."""

    cues: frozenset
    barriers: frozenset
    window: int
    cancel: frozenset = frozenset()
    # Negation only: words after a negated phrase that name who does it after all
    # ("nobody hurts me except my brother"); when they follow, the negation is dropped.
    exceptions: re.Pattern | None = None


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """Where the n-gram model's training examples are and how much its vote counts."""

    examples: Path
    weight: float = 0.65
    more_examples: tuple = ()
    floor: float = 0.4
    negated_factor: float = 0.5
    short_words: int = 4
    short_factor: float = 0.6


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
    model: ModelSettings | None = None
    source: str = ""
    # Spans that cancel an immediacy cue inside them ("it is sorted now", "i am fine now").
    immediacy_calm: re.Pattern | None = None
    # Words that say the harm is over or long ago ("last year", "used to"): then a phrase of the
    # immediate_danger category that is not itself marked immediate does not make it immediate.
    immediacy_past: re.Pattern | None = None


@functools.lru_cache(maxsize=8)
def load_phrasebook(path: Path | str | None = None) -> PhraseBook:
    """Read and compile the phrase file at path (default data/safeguarding/phrases.yml), cached."""
    path = Path(path) if path else DEFAULT_PHRASES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())  # YAML errors span lines; an error line should not
        raise PhraseBookError(f"cannot read safeguarding phrases {path}: {reason}") from error
    try:
        book = build_phrasebook(raw, source=str(path), base=path.parent)
    except PhraseBookError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PhraseBookError(f"safeguarding phrases {path} are malformed: {error!r}") from error
    log.info("loaded %d safeguarding phrases from %s", len(book.phrases), path)
    return book


def build_phrasebook(raw: Mapping[str, Any], *, source: str = "", base: Path | None = None) -> PhraseBook:
    """Compile a phrase list given as parsed YAML (a test can pass a small dict).

    base is the folder that a relative model examples path is read from.
    """
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
    cues = frozenset(negation.get("cues") or ())
    phrases = []
    for category, spec in raw["categories"].items():
        default_weight = float(spec.get("weight", 0.9))
        default_hypothetical = bool(spec.get("default_hypothetical", True))
        for entry in spec.get("patterns") or ():
            entry = {"re": entry} if isinstance(entry, str) else dict(entry)
            phrases.append(
                Phrase(
                    category=category,
                    regex=_compile(_substitute(entry["re"], macros), category, word_start=False),
                    weight=float(entry.get("weight", default_weight)),
                    negatable=bool(entry.get("negatable", True)),
                    hypothetical=bool(entry.get("hypothetical", default_hypothetical)),
                    immediate=bool(entry.get("immediate", False)),
                    source=entry["re"],
                    negation_inside=not cues.intersection(_literal_words(entry["re"])),
                )
            )
    immediacy = raw.get("immediacy") or ()
    calm = past = ()
    if isinstance(immediacy, Mapping):
        calm = immediacy.get("calm") or ()
        past = immediacy.get("past") or ()
        immediacy = immediacy.get("cues") or ()
    exceptions = negation.get("exceptions") or ()
    model = raw.get("model") or {}
    if model.get("examples"):
        def _resolve(name):
            path = Path(name)
            return path if path.is_absolute() or base is None else base / path

        examples = Path(model["examples"])
        model = ModelSettings(
            examples=_resolve(examples),
            more_examples=tuple(_resolve(name) for name in model.get("more_examples") or ()),
            weight=float(model.get("weight", 0.65)),
            floor=float(model.get("floor", 0.4)),
            negated_factor=float(model.get("negated_factor", 0.5)),
            short_words=int(model.get("short_words", 4)),
            short_factor=float(model.get("short_factor", 0.6)),
        )
    else:
        model = None
    return PhraseBook(
        normaliser=normaliser,
        masks=tuple(_compile(_substitute(mask, macros), "masks") for mask in raw.get("masks") or ()),
        phrases=tuple(phrases),
        negation=Scope(
            cues=cues,
            barriers=frozenset(negation.get("barriers") or ()),
            window=int(negation.get("window", 4)),
            exceptions=_exceptions(exceptions, int(negation.get("exception_reach", 4)), macros),
        ),
        hypothetical=Scope(
            cues=frozenset(hypothetical.get("cues") or ()),
            barriers=frozenset(hypothetical.get("barriers") or ()),
            window=int(hypothetical.get("window", 8)),
            cancel=frozenset(hypothetical.get("cancel") or ()),
        ),
        immediacy=_alternatives(immediacy, "immediacy", macros),
        immediacy_calm=_alternatives(calm, "immediacy calm", macros),
        immediacy_past=_alternatives(past, "immediacy past", macros),
        context_categories=tuple(
            (name, re.compile(pattern)) for name, pattern in (raw.get("context_categories") or {}).items()
        ),
        scoring=scoring,
        model=model,
        source=source,
    )


def _alternatives(patterns, where: str, macros: Mapping[str, str]) -> re.Pattern | None:
    """One whole-word regex matching any of patterns (None when there are none)."""
    if not patterns:
        return None
    return _compile("|".join(f"(?:{_substitute(p, macros)})" for p in patterns), where)


def _exceptions(patterns, reach: int, macros: Mapping[str, str]) -> re.Pattern | None:
    """A regex for the text right after a negated match: up to reach words (no end of sentence,
    no "and") and then one of the exception patterns ("except my brother", ", only my uncle")."""
    if not patterns:
        return None
    alternatives = "|".join(f"(?:{_substitute(p, macros)})" for p in patterns)
    pattern = rf"(?: (?!(?:[.!?;]|and|so|because)(?![^\W_]))\S+){{0,{reach}}}? (?:{alternatives})(?![^\W_])"
    try:
        return re.compile(pattern)
    except re.error as error:
        raise PhraseBookError(f"bad safeguarding pattern in negation exceptions: {error}") from error


def _literal_words(pattern: str) -> set[str]:
    """Words written out in a pattern, leaving out macro names."""
    return set(re.findall(r"[a-z]+", _MACRO.sub(" ", pattern)))


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


def _compile(pattern: str, where: str, *, word_start: bool = True) -> re.Pattern:
    """Compile a pattern that matches whole words only.

    With word_start=False the start of a word is left for the caller to check
    (see detector.word_matches): a leading look-behind stops the regex engine
    from skipping ahead to a literal, and phrases are searched hundreds of times.
    """
    start = r"(?<![^\W_])" if word_start else ""
    try:
        return re.compile(rf"{start}(?:{pattern})(?![^\W_])")
    except re.error as error:
        raise PhraseBookError(f"bad safeguarding pattern in {where}: {pattern!r}: {error}") from error
