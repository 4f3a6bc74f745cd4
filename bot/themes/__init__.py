"""Theme tagging of answers: which co-production themes an answer speaks to; importing loads no model.

    tagger = load_or_train(default_model_path(settings))
    tagger.tag(["I want my own flat"])  # [TagResult(themes=['security'], scores={...})]
"""
from bot.themes.encoder import EncoderUnavailable
from bot.themes.evaluate import cross_validate, evaluate, format_report
from bot.themes.examples import EXAMPLES_FILE, ExamplesError, ThemeExample, load_examples
from bot.themes.loading import default_model_path, load_or_train, retrain, training_examples
from bot.themes.scoring import TaggerConfig
from bot.themes.tagger import TaggerError, TagResult, ThemeTagger
from bot.themes.training import train_tagger

__all__ = [
    "EXAMPLES_FILE", "EncoderUnavailable", "ExamplesError", "TagResult", "TaggerConfig", "TaggerError",
    "ThemeExample", "ThemeTagger", "cross_validate", "default_model_path", "evaluate", "format_report",
    "load_examples", "load_or_train", "retrain", "train_tagger", "training_examples",
]
