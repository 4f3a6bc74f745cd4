"""The theme tagger: which themes an answer speaks to, trained from examples, saved in one file.

Each answer is embedded with all-MiniLM-L6-v2 (see encoder.py) and described by character
n-grams. A logistic regression per theme (one-vs-rest) on both, blended with a vote of the
nearest training examples, gives a score from 0 to 1; a theme is tagged when its score reaches
that theme's threshold, tuned by cross-validation on the training examples. Long answers are
also scored sentence by sentence, so one sentence about money in a story about staff still
counts.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse

from bot.themes.encoder import ENCODER_ID, SentenceEncoder, ensure_encoder
from bot.themes.examples import ThemeExample, as_examples, theme_ids_in
from bot.themes.features import CharNgrams, answer_units

log = logging.getLogger(__name__)

MODEL_FILE = "tagger.npz"
FORMAT_VERSION = 1
THRESHOLD_GRID = np.round(np.arange(0.2, 0.801, 0.025), 3)


class TaggerError(RuntimeError):
    """The tagger cannot be trained or loaded; the message says why in one line."""


class TagResult(NamedTuple):
    """The themes an answer was tagged with (highest score first) and every theme's score."""

    themes: List[str]
    scores: Dict[str, float]


@dataclasses.dataclass(frozen=True)
class TaggerConfig:
    """How the tagger is trained; saved in the model file so scoring matches training."""

    regularization: float = 1.0      # logistic regression C: higher fits the examples harder
    neighbours: int = 10             # nearest training examples that vote
    neighbour_weight: float = 0.3    # share of the score that comes from their vote
    neighbour_sharpness: float = 10.0
    sentence_weight: float = 0.9     # a single sentence's score counts at this fraction
    folds: int = 5                   # cross-validation folds for the thresholds
    min_positive: int = 2            # fewer examples of a theme than this: training fails


@dataclasses.dataclass
class _Encoded:
    """Answers turned into features: one row per answer, plus one row per sentence unit."""

    answer_vectors: np.ndarray
    answer_ngrams: sparse.csr_matrix
    unit_vectors: np.ndarray
    unit_ngrams: sparse.csr_matrix
    unit_owner: np.ndarray           # answer index of each sentence unit (multi-sentence answers only)


class ThemeTagger:
    """Tags answers with theme ids; load with ThemeTagger.load, make with train_tagger."""

    def __init__(self, *, theme_ids: Sequence[str], encoder: SentenceEncoder, ngrams: CharNgrams,
                 vector_weights: np.ndarray, ngram_weights: np.ndarray, bias: np.ndarray,
                 thresholds: np.ndarray, neighbour_vectors: np.ndarray, neighbour_labels: np.ndarray,
                 config: TaggerConfig, trained_on: int = 0):
        self.theme_ids = list(theme_ids)
        self.encoder = encoder
        self.ngrams = ngrams
        self.vector_weights = vector_weights
        self.ngram_weights = ngram_weights
        self.bias = bias
        self.thresholds = thresholds
        self.neighbour_vectors = neighbour_vectors
        self.neighbour_labels = neighbour_labels
        self.config = config
        self.trained_on = trained_on

    # -- scoring -------------------------------------------------------------------------

    def tag(self, texts: Sequence[str]) -> List[TagResult]:
        """Tag each answer: themes whose score reaches their threshold, and all scores."""
        texts = [text if isinstance(text, str) else "" for text in texts]
        scores = self.score(texts)
        results = []
        for row in scores:
            ranked = sorted(range(len(self.theme_ids)), key=lambda j: -row[j])
            themes = [self.theme_ids[j] for j in ranked if row[j] >= self.thresholds[j] and row[j] > 0]
            results.append(TagResult(themes, {theme: round(float(row[j]), 4)
                                              for j, theme in enumerate(self.theme_ids)}))
        return results

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Scores from 0 to 1, one row per answer and one column per theme (0 for empty answers)."""
        scores = np.zeros((len(texts), len(self.theme_ids)), np.float32)
        present = [index for index, text in enumerate(texts) if text and text.strip()]
        if present:
            encoded = encode_answers([texts[i] for i in present], self.encoder, self.ngrams)
            scores[present] = _combined_scores(self._model(), encoded, self.config)
        return scores

    def _model(self) -> "_Model":
        return _Model(self.vector_weights, self.ngram_weights, self.bias,
                      self.neighbour_vectors, self.neighbour_labels)

    # -- files ---------------------------------------------------------------------------

    def save(self, path: Path) -> Path:
        """Write the tagger to one .npz file (atomically); the encoder stays beside it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "encoder_id": self.encoder.encoder_id,
            "theme_ids": self.theme_ids,
            "config": dataclasses.asdict(self.config),
            "ngram_range": list(self.ngrams.ngram_range),
            "trained_on": self.trained_on,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        handle, scratch = tempfile.mkstemp(suffix=".npz", dir=path.parent)
        os.close(handle)
        try:
            np.savez_compressed(
                scratch, meta=np.array(json.dumps(meta)), vector_weights=self.vector_weights,
                ngram_weights=self.ngram_weights, bias=self.bias, thresholds=self.thresholds,
                neighbour_vectors=self.neighbour_vectors.astype(np.float16),
                neighbour_labels=self.neighbour_labels.astype(np.uint8),
                ngram_vocabulary=self.ngrams.ordered_vocabulary(), ngram_idf=self.ngrams.idf,
            )
            os.replace(scratch, path)
        finally:
            if os.path.exists(scratch):
                os.unlink(scratch)
        return path

    @classmethod
    def load(cls, path: Path, *, encoder_dir: Optional[Path] = None) -> "ThemeTagger":
        """Read a tagger saved by save(); the encoder is built beside it on first use."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError) as error:
            raise TaggerError(f"Cannot read the theme model {path}: {error}") from None
        try:
            meta = json.loads(str(arrays["meta"]))
        except (KeyError, ValueError):
            raise TaggerError(f"{path} is not a theme model") from None
        if meta.get("format") != FORMAT_VERSION or meta.get("encoder_id") != ENCODER_ID:
            raise TaggerError(f"{path} was made by another version of the tagger; train it again")
        encoder = SentenceEncoder.load(ensure_encoder(Path(encoder_dir or path.parent)))
        if encoder.encoder_id != meta["encoder_id"]:
            raise TaggerError(f"The encoder beside {path} does not match the model; train it again")
        vocabulary = {ngram: index for index, ngram in enumerate(arrays["ngram_vocabulary"].tolist())}
        return cls(
            theme_ids=meta["theme_ids"], encoder=encoder,
            ngrams=CharNgrams(vocabulary, arrays["ngram_idf"], tuple(meta["ngram_range"])),
            vector_weights=arrays["vector_weights"], ngram_weights=arrays["ngram_weights"],
            bias=arrays["bias"], thresholds=arrays["thresholds"],
            neighbour_vectors=arrays["neighbour_vectors"].astype(np.float32),
            neighbour_labels=arrays["neighbour_labels"].astype(np.float32),
            config=TaggerConfig(**meta["config"]), trained_on=meta.get("trained_on", 0),
        )


@dataclasses.dataclass
class _Model:
    vector_weights: np.ndarray       # (384, themes)
    ngram_weights: np.ndarray        # (n-grams, themes)
    bias: np.ndarray                 # (themes,)
    neighbour_vectors: np.ndarray    # (examples, 384)
    neighbour_labels: np.ndarray     # (examples, themes) of 0/1


@dataclasses.dataclass
class _Units:
    """Answers cut into sentence units, each unit embedded once."""

    texts: List[str]
    units: List[str]
    owner: np.ndarray                # answer index of each unit
    vectors: np.ndarray              # one row per unit


def _embed_units(texts: Sequence[str], encoder: SentenceEncoder) -> _Units:
    units: List[str] = []
    owner: List[int] = []
    for index, text in enumerate(texts):
        for unit in answer_units(text):
            units.append(unit)
            owner.append(index)
    return _Units(list(texts), units, np.asarray(owner, dtype=np.int64), encoder.encode(units))


def _features(embedded: _Units, ngrams: CharNgrams, subset: Optional[np.ndarray] = None) -> _Encoded:
    """Feature rows for the answers (all, or those in subset) and their sentence units.

    An answer's vector is the mean of its sentences' vectors, so every piece of text goes
    through the encoder once.
    """
    count = len(embedded.texts)
    subset = np.arange(count) if subset is None else np.asarray(subset, dtype=np.int64)
    position = np.full(count, -1, np.int64)
    position[subset] = np.arange(len(subset))
    keep = position[embedded.owner] >= 0
    owner = position[embedded.owner[keep]]
    vectors = embedded.vectors[keep]
    units = [unit for unit, kept in zip(embedded.units, keep) if kept]
    answer_vectors = np.zeros((len(subset), vectors.shape[1]), np.float32)
    np.add.at(answer_vectors, owner, vectors)
    answer_vectors /= np.maximum(np.linalg.norm(answer_vectors, axis=1, keepdims=True), 1e-12)
    several = np.bincount(owner, minlength=len(subset))[owner] > 1
    return _Encoded(
        answer_vectors=answer_vectors,
        answer_ngrams=ngrams.transform([embedded.texts[i] for i in subset]),
        unit_vectors=vectors[several],
        unit_ngrams=ngrams.transform([unit for unit, kept in zip(units, several) if kept]),
        unit_owner=owner[several],
    )


def encode_answers(texts: Sequence[str], encoder: SentenceEncoder, ngrams: CharNgrams) -> _Encoded:
    """Embed and n-gram each answer; answers of several sentences also get one row per sentence."""
    return _features(_embed_units(texts, encoder), ngrams)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -30, 30)))


def _row_scores(model: _Model, vectors: np.ndarray, ngrams: sparse.csr_matrix,
                config: TaggerConfig) -> np.ndarray:
    if len(vectors) == 0:
        return np.zeros((0, len(model.bias)), np.float32)
    linear = vectors @ model.vector_weights + np.asarray(ngrams @ model.ngram_weights) + model.bias
    regression = _sigmoid(linear)
    if config.neighbour_weight <= 0:
        return regression
    similarity = vectors @ model.neighbour_vectors.T
    k = min(config.neighbours, similarity.shape[1])
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    nearest_similarity = np.take_along_axis(similarity, nearest, axis=1)
    weights = np.exp(config.neighbour_sharpness * (nearest_similarity - nearest_similarity.max(axis=1, keepdims=True)))
    weights /= weights.sum(axis=1, keepdims=True)
    vote = np.einsum("nk,nkt->nt", weights, model.neighbour_labels[nearest])
    return (1 - config.neighbour_weight) * regression + config.neighbour_weight * vote


def _combined_scores(model: _Model, encoded: _Encoded, config: TaggerConfig) -> np.ndarray:
    scores = _row_scores(model, encoded.answer_vectors, encoded.answer_ngrams, config)
    if config.sentence_weight > 0 and len(encoded.unit_owner):
        unit_scores = config.sentence_weight * _row_scores(model, encoded.unit_vectors, encoded.unit_ngrams, config)
        np.maximum.at(scores, encoded.unit_owner, unit_scores)
    return scores.astype(np.float32)


# -- training --------------------------------------------------------------------------------

def train_tagger(examples: Iterable, out_path: Optional[Path], *, themes: Optional[Sequence[str]] = None,
                 config: Optional[TaggerConfig] = None, encoder_dir: Optional[Path] = None) -> ThemeTagger:
    """Train on (text, theme ids) examples, tune thresholds by cross-validation, save to out_path.

    themes: the theme ids to learn, in order (default: every id the examples use); labels of
    other ids are ignored. Every theme needs at least config.min_positive examples. The
    encoder is kept in encoder_dir (default: beside out_path); out_path None saves nothing.
    """
    started = time.monotonic()
    config = config or TaggerConfig()
    examples = [example if isinstance(example, ThemeExample) else as_examples([example])[0]
                for example in examples]
    examples = [example for example in examples if example.text.strip()]
    theme_ids = list(themes) if themes is not None else theme_ids_in(examples)
    if not theme_ids:
        raise TaggerError("The examples name no themes: nothing to learn")
    labels = np.array([[theme in example.themes for theme in theme_ids] for example in examples], np.float32)
    too_few = [theme for theme, count in zip(theme_ids, labels.sum(axis=0)) if count < config.min_positive]
    if too_few:
        raise TaggerError(f"Too few examples (fewer than {config.min_positive}) for: {', '.join(too_few)}")
    if out_path is None and encoder_dir is None:
        raise TaggerError("train_tagger needs out_path or encoder_dir")
    encoder = SentenceEncoder.load(ensure_encoder(Path(encoder_dir or Path(out_path).parent)))
    embedded = _embed_units([example.text for example in examples], encoder)
    model, ngrams = _fit(embedded, np.arange(len(examples)), labels, config)
    thresholds = _tune_thresholds(embedded, labels, config)
    tagger = ThemeTagger(
        theme_ids=theme_ids, encoder=encoder, ngrams=ngrams, vector_weights=model.vector_weights,
        ngram_weights=model.ngram_weights, bias=model.bias, thresholds=thresholds,
        neighbour_vectors=model.neighbour_vectors, neighbour_labels=model.neighbour_labels,
        config=config, trained_on=len(examples),
    )
    if out_path is not None:
        tagger.save(Path(out_path))
    log.info("Trained the theme tagger on %d examples in %.1f s", len(examples), time.monotonic() - started)
    return tagger


def _fit(embedded: _Units, subset: np.ndarray, labels: np.ndarray, config: TaggerConfig):
    """Fit n-grams and one logistic regression per theme on the answers in subset."""
    from sklearn.linear_model import LogisticRegression

    ngrams = CharNgrams.fit([embedded.texts[i] for i in subset])
    encoded = _features(embedded, ngrams, subset)
    labels = labels[subset]
    features = sparse.hstack([sparse.csr_matrix(encoded.answer_vectors), encoded.answer_ngrams]).tocsr()
    dims = encoded.answer_vectors.shape[1]
    weights = np.zeros((features.shape[1], labels.shape[1]), np.float32)
    bias = np.zeros(labels.shape[1], np.float32)
    for column in range(labels.shape[1]):
        target = labels[:, column]
        if target.min() == target.max():  # a fold where a rare theme has no example
            bias[column] = 30.0 if target[0] else -30.0
            continue
        regression = LogisticRegression(C=config.regularization, class_weight="balanced", max_iter=3000)
        regression.fit(features, target)
        weights[:, column] = regression.coef_[0]
        bias[column] = regression.intercept_[0]
    return _Model(weights[:dims], weights[dims:], bias, encoded.answer_vectors, labels), ngrams


def _tune_thresholds(embedded: _Units, labels: np.ndarray, config: TaggerConfig) -> np.ndarray:
    """Per theme, the score cut-off that maximises F1 on out-of-fold predictions."""
    count = len(embedded.texts)
    folds = min(config.folds, int(labels.sum(axis=0).min()), count)
    thresholds = np.full(labels.shape[1], 0.5, np.float32)
    if folds < 2:
        return thresholds
    order = np.random.RandomState(0).permutation(count)
    out_of_fold = np.zeros(labels.shape, np.float32)
    for fold in range(folds):
        held = np.sort(order[fold::folds])
        model, ngrams = _fit(embedded, np.setdiff1d(np.arange(count), held), labels, config)
        out_of_fold[held] = _combined_scores(model, _features(embedded, ngrams, held), config)
    for column in range(labels.shape[1]):
        truth = labels[:, column] > 0
        best = max(THRESHOLD_GRID, key=lambda cut: (_f1(truth, out_of_fold[:, column] >= cut), -abs(cut - 0.5)))
        thresholds[column] = best
    return thresholds


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    true_positive = float(np.sum(truth & predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2 * true_positive / denominator if denominator else 0.0
