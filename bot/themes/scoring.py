"""How answers become theme scores: sentence vectors and n-grams in, one score per theme out.

An answer is cut into sentence units; each unit is embedded once, and the answer's vector is
the mean of its units' vectors. A logistic regression per theme on [vector, n-grams], blended
with a vote of the nearest training answers, scores the whole answer; an answer of several
sentences also takes each sentence's score (at sentence_weight), so one sentence about money
in a long story about staff still counts.
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence

import numpy as np
from scipy import sparse

from bot.themes.encoder import SentenceEncoder
from bot.themes.features import CharNgrams, answer_units


NEIGHBOUR_ROWS = 256  # rows scored against the training answers at once
# The nearest answers are looked for among the training answers taken in groups of this many
# (see _nearest): a row's k nearest lie in the k groups with the highest best similarity.
NEIGHBOUR_GROUP = 8


@dataclasses.dataclass(frozen=True)
class TaggerConfig:
    """How the tagger is trained and scores; saved in the model file so scoring matches training."""

    regularization: float = 2.0      # logistic regression C: higher fits the examples harder
    neighbours: int = 10             # nearest training answers that vote
    neighbour_weight: float = 0.3    # share of the score that comes from their vote
    neighbour_sharpness: float = 10.0
    sentence_weight: float = 0.8     # a single sentence's score counts at this fraction
    folds: int = 5                   # cross-validation folds for the thresholds
    min_positive: int = 2            # fewer examples of a theme than this: training fails


@dataclasses.dataclass
class ThemeWeights:
    """What training learns, apart from thresholds: regression weights and the voting answers."""

    vector_weights: np.ndarray       # (384, themes)
    ngram_weights: np.ndarray        # (n-grams, themes)
    bias: np.ndarray                 # (themes,)
    neighbour_vectors: np.ndarray    # (training answers, 384)
    neighbour_labels: np.ndarray     # (training answers, themes), 0 or 1


@dataclasses.dataclass
class EmbeddedAnswers:
    """Answers cut into sentence units, each unit embedded once (reused across training folds)."""

    texts: List[str]
    units: List[str]
    owner: np.ndarray                # answer index of each unit
    vectors: np.ndarray              # one row per unit


@dataclasses.dataclass
class AnswerFeatures:
    """Feature rows: one per answer, and one per sentence of the answers that have several."""

    answer_vectors: np.ndarray
    answer_ngrams: sparse.csr_matrix
    unit_vectors: np.ndarray
    unit_ngrams: sparse.csr_matrix
    unit_owner: np.ndarray


def embed_answers(texts: Sequence[str], encoder: SentenceEncoder) -> EmbeddedAnswers:
    """Cut each answer into sentence units and embed them all in one pass."""
    units: List[str] = []
    owner: List[int] = []
    for index, text in enumerate(texts):
        for unit in answer_units(text):
            units.append(unit)
            owner.append(index)
    return EmbeddedAnswers(list(texts), units, np.asarray(owner, dtype=np.int64), encoder.encode(units))


def answer_features(embedded: EmbeddedAnswers, ngrams: CharNgrams,
                    subset: Optional[np.ndarray] = None) -> AnswerFeatures:
    """Feature rows for the answers (all, or those in subset, in that order) and their sentences."""
    count = len(embedded.texts)
    subset = np.arange(count) if subset is None else np.asarray(subset, dtype=np.int64)
    position = np.full(count, -1, np.int64)
    position[subset] = np.arange(len(subset))
    keep = position[embedded.owner] >= 0
    owner = position[embedded.owner[keep]]
    vectors = embedded.vectors[keep]
    units = [unit for unit, kept in zip(embedded.units, keep) if kept]
    # Units come answer by answer, so runs of the same owner can be summed with reduceat.
    order = np.argsort(owner, kind="stable")
    owner, vectors, units = owner[order], vectors[order], [units[i] for i in order]
    answer_vectors = np.zeros((len(subset), vectors.shape[1]), np.float32)
    if len(owner):
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        answer_vectors[owner[starts]] = np.add.reduceat(vectors, starts, axis=0)
    answer_vectors /= np.maximum(np.linalg.norm(answer_vectors, axis=1, keepdims=True), 1e-12)
    several = np.bincount(owner, minlength=len(subset))[owner] > 1
    return AnswerFeatures(
        answer_vectors=answer_vectors,
        answer_ngrams=ngrams.transform([embedded.texts[i] for i in subset]),
        unit_vectors=vectors[several],
        unit_ngrams=ngrams.transform([unit for unit, kept in zip(units, several) if kept]),
        unit_owner=owner[several],
    )


def score_answers(weights: ThemeWeights, features: AnswerFeatures, config: TaggerConfig) -> np.ndarray:
    """Scores from 0 to 1: one row per answer, one column per theme."""
    scores = _row_scores(weights, features.answer_vectors, features.answer_ngrams, config)
    owner = features.unit_owner
    if config.sentence_weight > 0 and len(owner):
        sentence_scores = _row_scores(weights, features.unit_vectors, features.unit_ngrams, config)
        sentence_scores *= config.sentence_weight
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # owner is sorted
        best = np.maximum.reduceat(sentence_scores, starts, axis=0)
        scores[owner[starts]] = np.maximum(scores[owner[starts]], best)
    return scores.astype(np.float32)


def _row_scores(weights: ThemeWeights, vectors: np.ndarray, ngrams: sparse.csr_matrix,
                config: TaggerConfig) -> np.ndarray:
    if len(vectors) == 0:
        return np.zeros((0, len(weights.bias)), np.float32)
    linear = vectors @ weights.vector_weights + np.asarray(ngrams @ weights.ngram_weights) + weights.bias
    regression = 1.0 / (1.0 + np.exp(-np.clip(linear, -30, 30)))
    if config.neighbour_weight <= 0:
        return regression
    vote = np.empty_like(regression)
    for start in range(0, len(vectors), NEIGHBOUR_ROWS):  # a few MB of similarities at a time
        vote[start:start + NEIGHBOUR_ROWS] = _neighbour_vote(weights, vectors[start:start + NEIGHBOUR_ROWS], config)
    return (1 - config.neighbour_weight) * regression + config.neighbour_weight * vote


def _neighbour_vote(weights: ThemeWeights, vectors: np.ndarray, config: TaggerConfig) -> np.ndarray:
    """The labels of each row's nearest training answers, weighted by closeness (rows sum to 1)."""
    similarity = vectors @ weights.neighbour_vectors.T
    nearest = _nearest(similarity, min(config.neighbours, similarity.shape[1]))
    closeness = np.take_along_axis(similarity, nearest, axis=1)
    votes = np.exp(config.neighbour_sharpness * (closeness - closeness.max(axis=1, keepdims=True)))
    votes /= votes.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkt->nt", votes, weights.neighbour_labels[nearest])


def _nearest(similarity: np.ndarray, k: int) -> np.ndarray:
    """The columns of each row's k highest similarities, in no particular order.

    A plain argpartition over every training answer is most of the scoring time, so the
    columns are first put in groups (column c in group c % groups) and only the k groups
    with the highest best similarity are searched: each of the k nearest lies in one of them,
    since fewer than k groups can hold a similarity higher than that neighbour's own.
    """
    rows, count = similarity.shape
    groups = -(-count // NEIGHBOUR_GROUP)
    if groups <= k:
        return np.argpartition(similarity, count - k, axis=1)[:, count - k:]
    padded = np.full((rows, NEIGHBOUR_GROUP * groups), -np.inf, similarity.dtype)
    padded[:, :count] = similarity
    best_in_group = padded.reshape(rows, NEIGHBOUR_GROUP, groups).max(axis=1)
    top_groups = np.argpartition(best_in_group, groups - k, axis=1)[:, groups - k:]
    offsets = groups * np.arange(NEIGHBOUR_GROUP)[None, :, None]
    candidates = (top_groups[:, None, :] + offsets).reshape(rows, -1)
    values = np.take_along_axis(padded, candidates, axis=1)
    chosen = np.argpartition(values, values.shape[1] - k, axis=1)[:, values.shape[1] - k:]
    return np.take_along_axis(candidates, chosen, axis=1)
