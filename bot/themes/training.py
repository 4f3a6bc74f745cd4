"""Train a theme tagger from examples: n-grams, one logistic regression per theme, tuned thresholds."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
from scipy import sparse

from bot.themes.encoder import SentenceEncoder, ensure_encoder
from bot.themes.examples import ThemeExample, as_examples, theme_ids_in
from bot.themes.features import CharNgrams
from bot.themes.scoring import (EmbeddedAnswers, TaggerConfig, ThemeWeights, answer_features,
                                embed_answers, score_answers)
from bot.themes.tagger import TaggerError, ThemeTagger

log = logging.getLogger(__name__)

THRESHOLD_GRID = np.round(np.arange(0.2, 0.801, 0.025), 3)


def train_tagger(examples: Iterable, out_path: Optional[Path], *, themes: Optional[Sequence[str]] = None,
                 config: Optional[TaggerConfig] = None, encoder_dir: Optional[Path] = None,
                 examples_digest: str = "") -> ThemeTagger:
    """Train on examples (ThemeExample or (text, theme ids) pairs), tune thresholds, save to out_path.

    themes: the theme ids to learn, in this order (default: every id the examples use, in order
    of first use); labels of other ids are ignored. Each theme needs config.min_positive
    examples or more. The encoder lives in encoder_dir (default: beside out_path); with
    out_path None nothing is saved. About 10 s for 1,200 examples on two cores.
    """
    started = time.monotonic()
    config = config or TaggerConfig()
    examples = [example if isinstance(example, ThemeExample) else as_examples([example])[0]
                for example in examples]
    examples = [example for example in examples if example.text.strip()]
    theme_ids = list(themes) if themes is not None else theme_ids_in(examples)
    if not theme_ids:
        raise TaggerError("The examples name no themes: nothing to learn")
    labels = np.array([[theme in example.themes for theme in theme_ids] for example in examples],
                      np.float32).reshape(len(examples), len(theme_ids))
    too_few = [theme for theme, count in zip(theme_ids, labels.sum(axis=0)) if count < config.min_positive]
    if too_few:
        raise TaggerError(f"Too few examples (fewer than {config.min_positive}) for: {', '.join(too_few)}")
    if out_path is None and encoder_dir is None:
        raise TaggerError("train_tagger needs out_path or encoder_dir")
    encoder = SentenceEncoder.load(ensure_encoder(Path(encoder_dir or Path(out_path).parent)))
    embedded = embed_answers([example.text for example in examples], encoder)
    weights, ngrams = _fit(embedded, np.arange(len(examples)), labels, config)
    tagger = ThemeTagger(theme_ids=theme_ids, encoder=encoder, ngrams=ngrams, weights=weights,
                         thresholds=_tune_thresholds(embedded, labels, config), config=config,
                         trained_on=len(examples), examples_digest=examples_digest)
    if out_path is not None:
        tagger.save(Path(out_path))
    log.info("Trained the theme tagger on %d examples in %.1f s", len(examples), time.monotonic() - started)
    return tagger


def _fit(embedded: EmbeddedAnswers, subset: np.ndarray, labels: np.ndarray, config: TaggerConfig):
    """Learn n-grams and one logistic regression per theme from the answers in subset."""
    from sklearn.linear_model import LogisticRegression

    ngrams = CharNgrams.fit([embedded.texts[i] for i in subset])
    features = answer_features(embedded, ngrams, subset)
    labels = labels[subset]
    matrix = sparse.hstack([sparse.csr_matrix(features.answer_vectors), features.answer_ngrams]).tocsr()
    coefficients = np.zeros((matrix.shape[1], labels.shape[1]), np.float32)
    bias = np.zeros(labels.shape[1], np.float32)
    for column in range(labels.shape[1]):
        target = labels[:, column]
        if target.min() == target.max():  # a fold in which a rare theme has no example
            bias[column] = 30.0 if target[0] else -30.0
            continue
        # Balanced weights: each theme is a minority, and missing it should cost as much as a false tag.
        regression = LogisticRegression(C=config.regularization, class_weight="balanced", max_iter=3000)
        regression.fit(matrix, target)
        coefficients[:, column] = regression.coef_[0]
        bias[column] = regression.intercept_[0]
    dims = features.answer_vectors.shape[1]
    weights = ThemeWeights(vector_weights=coefficients[:dims], ngram_weights=coefficients[dims:], bias=bias,
                           neighbour_vectors=features.answer_vectors, neighbour_labels=labels)
    return weights, ngrams


def _tune_thresholds(embedded: EmbeddedAnswers, labels: np.ndarray, config: TaggerConfig) -> np.ndarray:
    """Per theme, the score cut-off that maximises F1 on out-of-fold scores (0.5 if too few examples)."""
    count = len(embedded.texts)
    folds = min(config.folds, int(labels.sum(axis=0).min()), count)
    thresholds = np.full(labels.shape[1], 0.5, np.float32)
    if folds < 2:
        return thresholds
    order = np.random.RandomState(0).permutation(count)
    out_of_fold = np.zeros(labels.shape, np.float32)
    for fold in range(folds):
        held = np.sort(order[fold::folds])
        weights, ngrams = _fit(embedded, np.setdiff1d(np.arange(count), held), labels, config)
        out_of_fold[held] = score_answers(weights, answer_features(embedded, ngrams, held), config)
    for column in range(labels.shape[1]):
        truth = labels[:, column] > 0
        # Ties go to the cut-off nearest 0.5.
        thresholds[column] = max(THRESHOLD_GRID, key=lambda cut: (
            _f1(truth, out_of_fold[:, column] >= cut), -abs(cut - 0.5)))
    return thresholds


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    true_positive = float(np.sum(truth & predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2 * true_positive / denominator if denominator else 0.0
