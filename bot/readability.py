"""Plain-language checks for anything a participant reads (reading age 9)."""
from __future__ import annotations

import dataclasses
import math
import re
from typing import List

MAX_SENTENCE_WORDS = 15
MIN_READING_EASE = 80.0
MAX_GRADE = 5.0
SCORED_MIN_WORDS = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-z0-9']+")


@dataclasses.dataclass(frozen=True)
class Readability:
    """Scores and problems for one message."""

    text: str
    words: int
    reading_ease: float
    grade: float
    problems: List[str]

    @property
    def ok(self) -> bool:
        """True when the message meets every rule."""
        return not self.problems


def sentences(text: str) -> List[str]:
    """The sentences of a message (a colon-led list counts as one sentence)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def check(text: str) -> Readability:
    """Score a message against the accessibility guide's rules."""
    import textstat  # 0.7.8 is pinned: later versions download a dictionary at run time

    words = len(_WORD.findall(text))
    problems = []
    for sentence in sentences(text):
        count = len(_WORD.findall(sentence))
        if count > MAX_SENTENCE_WORDS:
            problems.append(f"sentence has {count} words (at most {MAX_SENTENCE_WORDS}): {sentence}")
    # A line of a list is read on its own: score it as its own sentence.
    scored = " ".join(part if part[-1] in ".!?" else part + "."
                      for part in sentences(text))
    ease = textstat.flesch_reading_ease(scored) if words else 100.0
    grade = textstat.flesch_kincaid_grade(scored) if words else 0.0
    if words >= SCORED_MIN_WORDS:
        # Rounded towards the failure, so a near miss never reads as the limit itself
        # ("grade 5.0 (needs 5 or lower)").
        if ease < MIN_READING_EASE:
            problems.append(f"reading ease {math.floor(round(ease, 6))} "
                            f"(needs {MIN_READING_EASE:.0f} or more)")
        if grade > MAX_GRADE:
            problems.append(f"grade {math.ceil(round(grade * 10, 6)) / 10:.1f} "
                            f"(needs {MAX_GRADE:.0f} or lower)")
    return Readability(text, words, ease, grade, problems)
