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
    """TF-IDF of character 2-5-grams inside word boundaries, robust to misspellings and txt-speak."""

    def __init__(self, vocabulary: Dict[str, int], idf: np.ndarray, ngram_range=(2, 5)):
        from sklearn.feature_extraction.text import CountVectorizer

        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float32)
        self.ngram_range = tuple(ngram_range)
        self._counter = CountVectorizer(analyzer="char_wb", ngram_range=self.ngram_range,
                                        vocabulary=vocabulary, lowercase=True, dtype=np.float32)

    @classmethod
    def fit(cls, texts: Sequence[str], ngram_range=(2, 5), min_df: int = 2) -> "CharNgrams":
        """Learn the n-gram vocabulary (n-grams in at least min_df texts) and their IDF weights."""
        from sklearn.feature_extraction.text import CountVectorizer

        counter = CountVectorizer(analyzer="char_wb", ngram_range=tuple(ngram_range),
                                  min_df=min_df, lowercase=True, dtype=np.float32)
        try:
            counts = counter.fit_transform([text[:MAX_NGRAM_CHARS] for text in texts])
        except ValueError:  # too few texts for any n-gram to reach min_df
            counter.set_params(min_df=1)
            counts = counter.fit_transform([text[:MAX_NGRAM_CHARS] for text in texts] or [" "])
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1.0
        vocabulary = {ngram: int(index) for ngram, index in counter.vocabulary_.items()}
        return cls(vocabulary, idf, ngram_range)

    @property
    def size(self) -> int:
        """How many n-grams the vocabulary holds."""
        return len(self.idf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear TF-IDF rows of unit length (all zero for a text with no known n-gram)."""
        counts = self._counter.transform([text[:MAX_NGRAM_CHARS] for text in texts]).tocsr()
        counts.data = 1.0 + np.log(counts.data)
        weighted = counts.multiply(self.idf[np.newaxis, :]).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ weighted, dtype=np.float32)

    def ordered_vocabulary(self) -> np.ndarray:
        """The n-grams as an array of strings, position = feature index (for saving)."""
        ordered = [""] * len(self.vocabulary)
        for ngram, index in self.vocabulary.items():
            ordered[index] = ngram
        return np.array(ordered, dtype=str)
