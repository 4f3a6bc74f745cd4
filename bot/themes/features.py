"""Text features for the theme tagger: sentence units and character n-gram TF-IDF."""
from __future__ import annotations

import re
from typing import Dict, List, Sequence

import numpy as np
from scipy import sparse

# Longer texts are cut here for the n-gram features; the encoder has its own limit.
MAX_NGRAM_CHARS = 5000
# An answer is scored as a whole and sentence by sentence; more sentences than this are
# merged into this many consecutive groups so that one huge answer costs a bounded time.
MAX_UNITS = 8
MIN_UNIT_WORDS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")


def answer_units(text: str) -> List[str]:
    """The parts of an answer scored on their own: its sentences, or the answer if it has one."""
    parts = [part.strip() for part in _SENTENCE_END.split(text)]
    parts = [part for part in parts if len(part.split()) >= MIN_UNIT_WORDS]
    if len(parts) <= 1:
        return [text.strip()]
    if len(parts) > MAX_UNITS:
        bounds = np.linspace(0, len(parts), MAX_UNITS + 1).round().astype(int)
        parts = [" ".join(parts[start:end]) for start, end in zip(bounds[:-1], bounds[1:])]
    return parts


class CharNgrams:
    """TF-IDF of character 2-5-grams inside word boundaries, robust to misspellings and txt-speak.

    The n-grams of a word are those of " word " (as scikit-learn's char_wb analyzer makes
    them); each word's n-grams are worked out once and remembered.
    """

    def __init__(self, vocabulary: Dict[str, int], idf: np.ndarray, ngram_range=(2, 5)):
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float32)
        self.ngram_range = tuple(int(n) for n in ngram_range)
        self._word_columns: Dict[str, List[int]] = {}

    @classmethod
    def fit(cls, texts: Sequence[str], ngram_range=(2, 5), min_df: int = 2) -> "CharNgrams":
        """Learn the n-gram vocabulary (n-grams in at least min_df texts) and their IDF weights."""
        document_frequency: Dict[str, int] = {}
        word_ngrams: Dict[str, List[str]] = {}
        for text in texts:
            seen = set()
            for word in _words(text):
                grams = word_ngrams.get(word)
                if grams is None:
                    grams = word_ngrams[word] = _ngrams(word, ngram_range)
                seen.update(grams)
            for gram in seen:
                document_frequency[gram] = document_frequency.get(gram, 0) + 1
        kept = sorted(gram for gram, count in document_frequency.items() if count >= min_df)
        if not kept:  # too few texts for any n-gram to reach min_df
            kept = sorted(document_frequency)
        frequency = np.array([document_frequency[gram] for gram in kept], np.float64)
        idf = np.log((1 + len(texts)) / (1 + frequency)) + 1.0
        return cls({gram: index for index, gram in enumerate(kept)}, idf, ngram_range)

    @property
    def size(self) -> int:
        """How many n-grams the vocabulary holds."""
        return len(self.idf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear TF-IDF rows of unit length (all zero for a text with no known n-gram)."""
        indptr = [0]
        indices: List[int] = []
        for text in texts:
            for word in _words(text):
                indices.extend(self._columns(word))
            indptr.append(len(indices))
        # One entry per n-gram occurrence; summing the duplicates gives the counts.
        matrix = sparse.csr_matrix((np.ones(len(indices), np.float32), np.asarray(indices, np.int64),
                                    np.asarray(indptr, np.int64)), shape=(len(texts), self.size))
        matrix.sum_duplicates()
        matrix.data = (1.0 + np.log(matrix.data)) * self.idf[matrix.indices]
        rows = np.repeat(np.arange(len(texts)), np.diff(matrix.indptr))
        norms = np.sqrt(np.bincount(rows, weights=matrix.data.astype(np.float64) ** 2, minlength=len(texts)))
        matrix.data = (matrix.data / np.maximum(norms[rows], 1e-12)).astype(np.float32)
        return matrix

    def _columns(self, word: str) -> List[int]:
        columns = self._word_columns.get(word)
        if columns is None:
            columns = [self.vocabulary[gram] for gram in _ngrams(word, self.ngram_range) if gram in self.vocabulary]
            if len(self._word_columns) > 200_000:
                self._word_columns.clear()
            self._word_columns[word] = columns
        return columns

    def ordered_vocabulary(self) -> np.ndarray:
        """The n-grams as an array of strings, position = feature index (for saving)."""
        ordered = [""] * len(self.vocabulary)
        for ngram, index in self.vocabulary.items():
            ordered[index] = ngram
        return np.array(ordered, dtype=str)


def _words(text: str) -> List[str]:
    return text[:MAX_NGRAM_CHARS].lower().split()


def _ngrams(word: str, ngram_range) -> List[str]:
    padded = f" {word} "
    low, high = ngram_range
    grams = []
    for size in range(low, high + 1):
        if len(padded) <= size:
            grams.append(padded)  # a short word counts once, whole
            break
        grams.extend(padded[start:start + size] for start in range(len(padded) - size + 1))
    return grams
