"""Normalise a participant's answer into the plain token form the phrase list is written in."""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Mapping, Sequence

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
_SUBJECT_IS = re.compile(
    r"\b(he|she|it|that|there|who|what|where|someone|somebody|everyone|nobody|here|this)'s\b"
)
_CONTRACTIONS = (
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
)
_POSSESSIVE = re.compile(r"'s\b")
# Words (any script) and the punctuation that ends a clause; everything else is a gap.
_TOKEN = re.compile(r"[^\W_]+|[.,!?;:]")
_REPEATS = re.compile(r"([a-z])\1{2,}")


class Normaliser:
    """Turns raw text into space-separated tokens using the phrase list's spellings."""

    def __init__(
        self,
        *,
        spellings: Mapping[str, str],
        rewrites: Sequence[tuple[str, str]] = (),
        fuzzy_targets: Iterable[str] = (),
        fuzzy_keep: Iterable[str] = (),
        fuzzy_min_length: int = 6,
    ):
        self._spellings = dict(spellings)
        self._rewrites = [(re.compile(rf"(?<!\S){re.escape(a)}(?!\S)"), b) for a, b in rewrites]
        self._targets = frozenset(fuzzy_targets)
        self._keep = frozenset(fuzzy_keep) | self._targets
        self._min_length = fuzzy_min_length
        self._by_length: dict[int, list[str]] = {}
        for target in self._targets:
            self._by_length.setdefault(len(target), []).append(target)
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        """Return the normalised form of text: lower case, contractions and spellings resolved."""
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
        text = _SUBJECT_IS.sub(r"\1 is", text)
        for pattern, replacement in _CONTRACTIONS:
            text = pattern.sub(replacement, text)
        text = _POSSESSIVE.sub("", text)
        words = [self._word(token) for token in _TOKEN.findall(text)]
        joined = " ".join(words)
        for pattern, replacement in self._rewrites:
            joined = pattern.sub(replacement, joined)
        return joined

    def _word(self, token: str) -> str:
        known = self._cache.get(token)
        if known is not None:
            return known
        word = token
        if word not in self._spellings and len(word) > 3:
            # "sooo scaaared" -> "so scared"; three or more repeats are never English.
            word = _REPEATS.sub(r"\1", word)
        word = self._spellings.get(word, word)
        if word.isascii() and len(word) >= self._min_length and word not in self._keep:
            word = self._nearest_target(word) or word
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[token] = word
        return word

    def _nearest_target(self, word: str) -> str | None:
        for length in (len(word), len(word) - 1, len(word) + 1):
            for target in self._by_length.get(length, ()):
                if _one_edit_apart(word, target):
                    return target
        return None


def _one_edit_apart(a: str, b: str) -> bool:
    """True when a becomes b by one insertion, deletion, change or swap of neighbours."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        if len(diffs) == 2:
            i, j = diffs
            return j == i + 1 and a[i] == b[j] and a[j] == b[i]
        return False
    if la > lb:
        a, b = b, a
    # a is one shorter: skip one letter of b
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]
