"""Where the theme tagger lives and how it is got: load the saved model, or train it on first use."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

from bot.themes.examples import EXAMPLES_FILE, ThemeExample, as_examples, load_examples
from bot.themes.scoring import TaggerConfig
from bot.themes.tagger import MODEL_FILE, TaggerError, ThemeTagger
from bot.themes.training import train_tagger

log = logging.getLogger(__name__)


def default_model_path(settings) -> Path:
    """The tagger file under the settings' var_dir: var/themes/tagger.npz."""
    return Path(settings.var_dir) / "themes" / MODEL_FILE


def training_examples(extra_examples: Iterable = (), examples_file: Path = EXAMPLES_FILE) -> List[ThemeExample]:
    """The repository's examples followed by extra (text, theme ids) pairs, e.g. confirmed tags."""
    return load_examples(examples_file) + as_examples(extra_examples)


def examples_digest(examples_file: Path = EXAMPLES_FILE, config: Optional[TaggerConfig] = None) -> str:
    """A hash of the examples file and the training settings: a tagger saved with another is stale."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(config or TaggerConfig()), sort_keys=True).encode())
    try:
        digest.update(Path(examples_file).read_bytes())
    except OSError:  # reported by load_examples when training needs the file
        return ""
    return digest.hexdigest()[:16]


def retrain(model_path: Path, *, extra_examples: Iterable = (), themes: Optional[Sequence[str]] = None,
            examples_file: Path = EXAMPLES_FILE, config: Optional[TaggerConfig] = None) -> ThemeTagger:
    """Train on the repository's examples plus extra_examples and save to model_path."""
    examples = training_examples(extra_examples, examples_file)
    return train_tagger(examples, model_path, themes=themes, config=config,
                        examples_digest=examples_digest(examples_file, config))


def load_or_train(model_path: Path, *, extra_examples: Iterable = (),
                  themes: Optional[Sequence[str]] = None, examples_file: Path = EXAMPLES_FILE) -> ThemeTagger:
    """Load the tagger at model_path; train it first if the file is missing or unusable.

    themes: when given, a saved tagger that knows other theme ids is trained again. So is one
    trained on other repository examples or settings (after an update), with the confirmed
    tags in extra_examples as well.
    A fresh clone trains in well under a minute on two cores.
    """
    model_path = Path(model_path)
    if model_path.exists():
        try:
            tagger = ThemeTagger.load(model_path)
        except TaggerError as error:
            log.warning("%s; training a new theme tagger", error)
        else:
            if themes is not None and set(themes) != set(tagger.theme_ids):
                log.info("The engagement's themes changed; training the theme tagger again")
            elif tagger.examples_digest != examples_digest(examples_file):
                log.info("The theme examples changed; training the theme tagger again")
            else:
                return tagger
    else:
        log.info("No theme tagger at %s; training one from %s", model_path, examples_file)
    return retrain(model_path, extra_examples=extra_examples, themes=themes, examples_file=examples_file)
