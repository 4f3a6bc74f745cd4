"""The theme tagger: which themes an answer speaks to, kept in one file beside its encoder.

Each answer gets a score from 0 to 1 per theme (see scoring.py); a theme is tagged when its
score reaches that theme's threshold, tuned by cross-validation when the tagger was trained
(see training.py). The theme ids are whatever the training examples used.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from bot.themes.encoder import ENCODER_ID, SentenceEncoder, ensure_encoder
from bot.themes.features import CharNgrams
from bot.themes.scoring import TaggerConfig, ThemeWeights, answer_features, embed_answers, score_answers

MODEL_FILE = "tagger.npz"
FORMAT_VERSION = 1

log = logging.getLogger(__name__)


class TaggerError(RuntimeError):
    """The tagger cannot be trained or loaded; the message says why in one line."""


class TagResult(NamedTuple):
    """The themes an answer was tagged with (highest score first) and every theme's score."""

    themes: List[str]
    scores: Dict[str, float]


class ThemeTagger:
    """Tags answers with theme ids; get one with ThemeTagger.load, train_tagger or load_or_train."""

    def __init__(self, *, theme_ids: Sequence[str], encoder: SentenceEncoder, ngrams: CharNgrams,
                 weights: ThemeWeights, thresholds: np.ndarray, config: TaggerConfig, trained_on: int = 0,
                 examples_digest: str = ""):
        self.theme_ids = list(theme_ids)
        self.encoder = encoder
        self.ngrams = ngrams
        self.weights = weights
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        self.config = config
        self.trained_on = trained_on
        # What the repository's examples and the training settings were (see loading.examples_digest),
        # so a saved tagger trained on older examples is noticed and trained again.
        self.examples_digest = examples_digest

    def tag(self, texts: Sequence[str]) -> List[TagResult]:
        """Tag each answer: the themes whose score reaches their threshold, and every score."""
        texts = [text if isinstance(text, str) else "" for text in texts]
        results = []
        for row in self.score(texts):
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
            embedded = embed_answers([texts[i] for i in present], self.encoder)
            scores[present] = score_answers(self.weights, answer_features(embedded, self.ngrams), self.config)
        return scores

    def save(self, path: Path) -> Path:
        """Write the tagger to one .npz file, atomically; the encoder files stay beside it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "encoder_id": self.encoder.encoder_id,
            "theme_ids": self.theme_ids,
            "config": dataclasses.asdict(self.config),
            "ngram_range": list(self.ngrams.ngram_range),
            "trained_on": self.trained_on,
            "examples_digest": self.examples_digest,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        handle, scratch = tempfile.mkstemp(suffix=".npz", dir=path.parent)
        os.close(handle)
        try:
            np.savez_compressed(
                scratch, meta=np.array(json.dumps(meta)), thresholds=self.thresholds,
                vector_weights=self.weights.vector_weights, ngram_weights=self.weights.ngram_weights,
                bias=self.weights.bias, neighbour_vectors=self.weights.neighbour_vectors.astype(np.float32),
                neighbour_labels=self.weights.neighbour_labels.astype(np.uint8),
                ngram_vocabulary=self.ngrams.ordered_vocabulary(), ngram_idf=self.ngrams.idf,
            )
            os.chmod(scratch, 0o644)  # mkstemp makes it private; the model holds no secret
            os.replace(scratch, path)
        finally:
            if os.path.exists(scratch):
                os.unlink(scratch)
        return path

    @classmethod
    def load(cls, path: Path, *, encoder_dir: Optional[Path] = None) -> "ThemeTagger":
        """Read a tagger written by save(); its encoder (in encoder_dir, default beside it) is built if missing."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            meta = json.loads(str(arrays["meta"]))
        except FileNotFoundError:
            raise TaggerError(f"There is no theme model at {path}") from None
        except (OSError, ValueError, KeyError, EOFError) as error:
            # numpy's own words ("pickled data", "allow_pickle") mean nothing to staff
            log.debug("theme model %s unreadable: %s", path, error)
            raise TaggerError(f"{path} is not a theme model this version can read (damaged, or "
                              "another kind of file); run `coproduce themes train` to make "
                              "one") from None
        if meta.get("format") != FORMAT_VERSION or meta.get("encoder_id") != ENCODER_ID:
            raise TaggerError(f"{path} was made by another version of the tagger; train it again")
        encoder = SentenceEncoder.load(ensure_encoder(Path(encoder_dir or path.parent)))
        if encoder.encoder_id != meta["encoder_id"]:
            raise TaggerError(f"The encoder beside {path} does not match the model; train it again")
        vocabulary = {ngram: index for index, ngram in enumerate(arrays["ngram_vocabulary"].tolist())}
        weights = ThemeWeights(
            vector_weights=arrays["vector_weights"], ngram_weights=arrays["ngram_weights"], bias=arrays["bias"],
            neighbour_vectors=arrays["neighbour_vectors"].astype(np.float32),
            neighbour_labels=arrays["neighbour_labels"].astype(np.float32),
        )
        return cls(theme_ids=meta["theme_ids"], encoder=encoder,
                   ngrams=CharNgrams(vocabulary, arrays["ngram_idf"], tuple(meta["ngram_range"])),
                   weights=weights, thresholds=arrays["thresholds"],
                   config=TaggerConfig(**meta["config"]), trained_on=meta.get("trained_on", 0),
                   examples_digest=meta.get("examples_digest", ""))
