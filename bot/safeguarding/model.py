"""A small linear model over character and word n-grams, the detector's third signal.

It is trained in about a second from data/safeguarding/examples.jsonl when first needed,
then scored in plain Python (a dictionary of n-gram weights), so checking an answer
costs microseconds and needs no scikit-learn object at run time.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

log = logging.getLogger(__name__)

CHAR_SIZES = (2, 3, 4, 5)


@dataclasses.dataclass(frozen=True)
class AnswerModel:
    """Logistic regression weights for n-gram features, with their idf values."""

    weights: dict
    idf: dict
    bias: float

    def __post_init__(self):
        # One lookup per feature when scoring: (idf, weight).
        table = {f: (idf, self.weights.get(f, 0.0)) for f, idf in self.idf.items()}
        object.__setattr__(self, "_table", table)

    def probability(self, normalised: str) -> float:
        """Probability (0..1) that a normalised answer is a disclosure."""
        table = self._table
        total = self.bias
        log = math.log
        for block in _feature_blocks(normalised):
            squares = dot = 0.0
            for feature, count in block.items():
                entry = table.get(feature)
                if entry is not None:
                    value = (1.0 + log(count)) * entry[0] if count > 1 else entry[0]
                    squares += value * value
                    dot += value * entry[1]
            if squares:
                total += dot / math.sqrt(squares)
        return 1.0 / (1.0 + math.exp(-max(min(total, 50.0), -50.0)))


def _feature_blocks(normalised: str) -> tuple[Counter, Counter]:
    """Character n-grams inside word boundaries, and word unigrams and bigrams."""
    words = normalised.split()
    chars: Counter = Counter()
    for word in words:
        padded = f" {word} "
        for size in CHAR_SIZES:
            if len(padded) < size:
                break
            for i in range(len(padded) - size + 1):
                chars["c" + padded[i : i + size]] += 1
    tokens: Counter = Counter("w" + word for word in words)
    tokens.update(f"b{a} {b}" for a, b in zip(words, words[1:]))
    return chars, tokens


def read_examples(path: Path) -> list[tuple[str, bool]]:
    """Read JSON Lines of {"text", "disclosure"} training examples."""
    examples = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                examples.append((str(record["text"]), bool(record["disclosure"])))
    return examples


def train_model(
    examples: Sequence[tuple[str, bool]],
    prepare: Callable[[str], str],
    *,
    c: float = 10.0,
) -> AnswerModel:
    """Fit the model on (text, disclosure) pairs; prepare turns raw text into normalised text."""
    import numpy as np  # imported here: only training needs them
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    documents = [_feature_blocks(prepare(text)) for text, _ in examples]
    labels = np.array([bool(label) for _, label in examples])
    if labels.all() or not labels.any():
        raise ValueError("training examples need both disclosures and non-disclosures")
    document_frequency: Counter = Counter()
    for blocks in documents:
        for block in blocks:
            document_frequency.update(block.keys())
    n = len(documents)
    # sklearn's smoothed idf: ln((1 + n) / (1 + df)) + 1
    idf = {f: math.log((1 + n) / (1 + df)) + 1.0 for f, df in document_frequency.items()}
    index = {feature: i for i, feature in enumerate(idf)}
    rows, cols, data = [], [], []
    for row, blocks in enumerate(documents):
        for block in blocks:
            values = {f: (1.0 + math.log(count)) * idf[f] for f, count in block.items()}
            norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
            for feature, value in values.items():
                rows.append(row)
                cols.append(index[feature])
                data.append(value / norm)
    matrix = csr_matrix((data, (rows, cols)), shape=(n, len(index)))
    fitted = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(matrix, labels)
    coefficients = fitted.coef_[0]
    weights = {f: float(coefficients[i]) for f, i in index.items() if coefficients[i] != 0.0}
    log.info("trained safeguarding model on %d examples (%d features)", n, len(weights))
    return AnswerModel(weights=weights, idf=idf, bias=float(fitted.intercept_[0]))


def train_from_file(path: Path, prepare: Callable[[str], str], *more: Path) -> AnswerModel:
    """Read the examples file at path (and any more files) and train the model on them."""
    examples = read_examples(path)
    for extra in more:
        examples += read_examples(extra)
    return train_model(examples, prepare)

