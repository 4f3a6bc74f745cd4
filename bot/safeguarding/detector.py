"""Decide whether an answer discloses harm or risk, from the phrase list and an optional intent score."""
from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

from bot.safeguarding.phrasebook import Phrase, PhraseBook, Scope, load_phrasebook

_MASK = "~"


@dataclasses.dataclass(frozen=True)
class Detection:
    """What the detector found in one answer."""

    disclosure: bool
    score: float
    categories: list[str]
    matched: list[str]
    immediate_danger: bool


class Detector:
    """Checks answers against one compiled phrase book."""

    def __init__(self, phrasebook: PhraseBook):
        self.phrasebook = phrasebook

    def detect(self, text: str, intent_confidence: float | None = None) -> Detection:
        """Return the detection for text; a high `disclose_harm` intent confidence can raise the flag."""
        book = self.phrasebook
        normalised = book.normaliser(text if isinstance(text, str) else str(text or ""))
        for mask in book.masks:
            normalised = mask.sub(_MASK, normalised)
        evidence: dict[str, float] = {}
        categories: dict[str, None] = {}
        immediate_phrase = False
        for phrase in book.phrases:
            weight, span = self._best_match(phrase, normalised)
            if not weight:
                continue
            if weight > evidence.get(span, 0.0):
                evidence[span] = weight
            categories.setdefault(phrase.category, None)
            immediate_phrase = immediate_phrase or phrase.immediate
        phrase_score = _noisy_or(evidence.values())
        score = _noisy_or([phrase_score, _intent_signal(intent_confidence, book.scoring.intent_floor)])
        disclosure = score >= book.scoring.threshold
        if disclosure:
            for name, pattern in book.context_categories:
                if pattern.search(normalised):
                    categories.setdefault(name, None)
        immediate = disclosure and (
            immediate_phrase or bool(book.immediacy and book.immediacy.search(normalised))
        )
        matched = sorted(evidence, key=lambda span: (-evidence[span], span))
        return Detection(
            disclosure=disclosure,
            score=round(score, 4),
            categories=list(categories) if disclosure or categories else [],
            matched=matched,
            immediate_danger=immediate,
        )

    def _best_match(self, phrase: Phrase, normalised: str) -> tuple[float, str]:
        """The strongest surviving match of one phrase: its weight and the words it covered."""
        best, best_span = 0.0, ""
        for match in phrase.regex.finditer(normalised):
            before = normalised[: match.start()].split()
            if phrase.negatable and _in_scope(before, self.phrasebook.negation):
                continue
            weight = phrase.weight
            if phrase.hypothetical and _in_scope(before, self.phrasebook.hypothetical):
                after = normalised[match.end() :].split()[:6]
                if not self.phrasebook.hypothetical.cancel.intersection(after):
                    weight *= self.phrasebook.scoring.hypothetical_factor
            if weight > best:
                best, best_span = weight, match.group(0)
        return best, best_span


def _in_scope(before: list[str], scope: Scope) -> bool:
    """True when a cue sits within the scope's window before the match, with no barrier between."""
    for word in before[::-1][: scope.window]:
        if word in scope.cues:
            return True
        if word in scope.barriers:
            return False
    return False


def _noisy_or(weights) -> float:
    """Combine independent pieces of evidence: 1 - product of (1 - weight)."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - min(max(weight, 0.0), 1.0)
    return 1.0 - remaining


def _intent_signal(confidence: float | None, floor: float) -> float:
    """Map a Rasa intent confidence to evidence: nothing below the floor, rising to 1.0."""
    if confidence is None:
        return 0.0
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(confidence) or confidence <= floor:
        return 0.0
    return min(1.0, (confidence - floor) / (1.0 - floor))


@functools.lru_cache(maxsize=8)
def get_detector(phrases_path: Path | str | None = None) -> Detector:
    """The detector for a phrase file (default data/safeguarding/phrases.yml), built on first use."""
    return Detector(load_phrasebook(phrases_path))


def detect(text: str, intent_confidence: float | None = None) -> Detection:
    """Check one answer with the default phrase list; see Detector.detect."""
    return get_detector().detect(text, intent_confidence)
