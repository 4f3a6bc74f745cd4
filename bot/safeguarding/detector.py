"""Decide whether an answer discloses harm or risk, from the phrase list and an optional intent score."""
from __future__ import annotations

import bisect
import dataclasses
import functools
import logging
import math
import threading
import unicodedata
from pathlib import Path

from bot.safeguarding.model import AnswerModel, train_from_file
from bot.safeguarding.phrasebook import Phrase, PhraseBook, Scope, load_phrasebook

log = logging.getLogger(__name__)

_MASK = "~"
# Negation and "if" look back a few words only; this many characters hold them.
_LOOK_BACK = 300
# The category given when only the model or the intent signal raised the flag.
UNCLASSIFIED = "unclassified"
# The category of a message written mostly in letters the phrase list cannot read (Arabic,
# Bengali, Chinese ...): a disclosure in it would be missed, so a person reads it.
OTHER_SCRIPT = "other_script"
OTHER_SCRIPT_MIN_LETTERS = 3
# The category that goes with the immediate_danger flag, and the one given instead when only
# phrases of that category were found but the danger is not now (the harm is over).
IMMEDIATE = "immediate_danger"
NOT_IMMEDIATE = "unsafe"


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

    def __init__(self, phrasebook: PhraseBook, model: AnswerModel | None = None):
        self.phrasebook = phrasebook
        self._model = model
        self._model_ready = model is not None or phrasebook.model is None
        self._model_lock = threading.Lock()
        self._searches = [(phrase.regex.search, phrase) for phrase in phrasebook.phrases]

    def prepare(self, text: str) -> str:
        """Normalise text and blank harmless idioms: the form patterns and model both read."""
        normalised = self.phrasebook.normaliser(text if isinstance(text, str) else str(text or ""))
        for mask in self.phrasebook.masks:
            normalised = mask.sub(_MASK, normalised)
        return normalised

    def model(self) -> AnswerModel | None:
        """The n-gram model, trained from the examples file on first call (None if switched off)."""
        if not self._model_ready:
            with self._model_lock:
                if not self._model_ready:
                    settings = self.phrasebook.model
                    try:
                        self._model = train_from_file(settings.examples, self.prepare,
                                                      *settings.more_examples)
                    except (OSError, ValueError, KeyError, ImportError) as error:
                        # Phrases still work, but they miss more unseen wordings: say so loudly.
                        log.error("safeguarding model not trained from %s: %s", settings.examples, error)
                    self._model_ready = True
        return self._model

    def detect(self, text: str, intent_confidence: float | None = None) -> Detection:
        """Return the detection for text; a high `disclose_harm` intent confidence can raise the flag."""
        book = self.phrasebook
        if in_other_script(text):
            return Detection(disclosure=True, score=round(book.scoring.threshold, 4),
                             categories=[OTHER_SCRIPT], matched=[], immediate_danger=False)
        normalised = self.prepare(text)
        found: list = []
        negated: list = []
        for search, phrase in self._searches:
            # search() first: most phrases miss, and a miss is cheapest in C.
            first = search(normalised)
            if first is not None:
                self._matches(phrase, normalised, first, found, negated)
        evidence = _strongest_apart(found)
        # Every surviving match names its category, even one outweighed by an overlapping match.
        categories = {phrase.category: None for phrase, _, _ in sorted(found, key=lambda item: -item[1])}
        # Any surviving match counts for immediacy, even one outweighed by an overlapping match
        # ("going to jump off" outweighs "jump off", which is the immediate one).
        immediate_phrase = any(phrase.immediate for phrase, _, _ in found)
        if not immediate_phrase and IMMEDIATE in categories:
            # A weaker sign of danger now ("when he is drunk"), unless the harm is over or long ago.
            immediate_phrase = not (book.immediacy_past and book.immediacy_past.search(normalised))
        # One phrase found again and again ("money" in each sentence of a long answer) is one
        # piece of evidence, not many: counted once, at its strongest.
        strongest: dict = {}
        for phrase, weight, _ in evidence:
            strongest[id(phrase)] = max(weight, strongest.get(id(phrase), 0.0))
        phrase_score = _noisy_or(strongest.values())
        signals = [phrase_score, _rescale(intent_confidence, book.scoring.intent_floor,
                                                book.scoring.intent_weight)]
        model = self.model() if normalised.strip() else None
        if model is not None:
            vote = _rescale(model.probability(normalised), book.model.floor, book.model.weight)
            if negated and not evidence:
                vote *= book.model.negated_factor
            if not evidence and len(normalised.split()) < book.model.short_words:
                # A few words with no risk phrase ("my friends") give the model too little.
                vote *= book.model.short_factor
            signals.append(vote)
        score = _noisy_or(signals)
        disclosure = score >= book.scoring.threshold
        if disclosure and not categories:
            categories[UNCLASSIFIED] = None
        if disclosure:
            for name, pattern in book.context_categories:
                if pattern.search(normalised):
                    categories.setdefault(name, None)
        immediate = disclosure and (immediate_phrase or self._immediacy_cue(normalised))
        # The flag and the category agree: immediate danger is named exactly when it is flagged.
        if immediate:
            categories.setdefault(IMMEDIATE, None)
        elif IMMEDIATE in categories:
            del categories[IMMEDIATE]
            if disclosure and not categories:
                categories[NOT_IMMEDIATE] = None
        matched = [normalised[start:end] for _, _, (start, end) in evidence]
        return Detection(
            disclosure=disclosure,
            score=round(score, 4),
            categories=list(categories),
            matched=matched,
            immediate_danger=immediate,
        )

    def _immediacy_cue(self, normalised: str) -> bool:
        """True when a cue of danger now ("right now", "tonight") is in the text, leaving out
        cues inside a calm span ("it is sorted now", "i am fine now")."""
        book = self.phrasebook
        if book.immediacy is None:
            return False
        if book.immediacy_calm is not None:
            normalised = book.immediacy_calm.sub(_MASK, normalised)
        return book.immediacy.search(normalised) is not None

    def _matches(self, phrase: Phrase, normalised: str, first, found: list, negated: list) -> None:
        """Add each match of one phrase to found as (phrase, weight, span), or to negated."""
        negation = self.phrasebook.negation
        hypothetical = self.phrasebook.hypothetical
        for match in word_matches(phrase.regex, normalised, first):
            before = normalised[max(0, match.start() - _LOOK_BACK) : match.start()].split()
            if phrase.negatable and (
                _in_scope(before, negation)
                or (phrase.negation_inside and negation.cues.intersection(match.group(0).split()))
            ) and not (
                # "nobody hurts me except my brother": the exception says who does it after all.
                negation.exceptions is not None
                and negation.exceptions.match(normalised, match.end(), match.end() + _LOOK_BACK)
            ):
                negated.append(match.span())
                continue
            weight = phrase.weight
            if phrase.hypothetical and _in_scope(before, hypothetical):
                after = normalised[match.end() :].split()[:6]
                if not hypothetical.cancel.intersection(after):
                    weight *= self.phrasebook.scoring.hypothetical_factor
            found.append((phrase, weight, match.span()))


def in_other_script(text) -> bool:
    """True when most letters of the message are not Latin letters (so not English), and there
    are at least a few of them."""
    letters = [char for char in (text if isinstance(text, str) else "") if char.isalpha()]
    if len(letters) < OTHER_SCRIPT_MIN_LETTERS:
        return False
    other = sum(1 for char in letters if not unicodedata.name(char, "").startswith("LATIN"))
    return other * 2 > len(letters)


def word_matches(regex, text: str, match=None):
    """Matches of regex that start at the start of a word, left to right, not overlapping."""
    match = match or regex.search(text)
    while match is not None:
        start, end = match.span()
        if start and text[start - 1].isalnum():
            match = regex.search(text, start + 1)
            continue
        yield match
        match = regex.search(text, end if end > start else end + 1)


def _strongest_apart(found):
    """Keep the strongest matches that do not overlap, so one phrase is not counted twice."""
    kept, starts, ends = [], [], []  # starts/ends: kept spans in text order, never overlapping
    for phrase, weight, (start, end) in sorted(found, key=lambda item: (-item[1], item[2])):
        at = bisect.bisect_left(starts, start)
        if (at and ends[at - 1] > start) or (at < len(starts) and starts[at] < end):
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        kept.append((phrase, weight, (start, end)))
    return kept


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


def _rescale(probability: float | None, floor: float, ceiling: float) -> float:
    """Map a probability to evidence: nothing up to the floor, then rising linearly to the ceiling."""
    if probability is None:
        return 0.0
    try:
        probability = float(probability)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(probability) or probability <= floor:
        return 0.0
    return ceiling * min(1.0, (probability - floor) / (1.0 - floor))


@functools.lru_cache(maxsize=8)
def get_detector(phrases_path: Path | str | None = None) -> Detector:
    """The detector for a phrase file (default data/safeguarding/phrases.yml), built on first use."""
    return Detector(load_phrasebook(phrases_path))


def detect(text: str, intent_confidence: float | None = None) -> Detection:
    """Check one answer with the default phrase list; see Detector.detect."""
    return get_detector().detect(text, intent_confidence)
