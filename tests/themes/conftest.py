"""Shared fixtures for the theme tagger tests: one built encoder and one trained tagger per run."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from bot.themes import ThemeExample, load_examples, train_tagger
from bot.themes.encoder import ENCODER_FILE, VOCAB_FILE, ensure_encoder

DEV_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "themes_dev.jsonl"
ENGAGEMENT = Path(__file__).resolve().parents[2] / "engagement.yml"


def toy_engagement(folder: Path, theme_ids) -> Path:
    """The project's engagement.yml with these themes instead of its own (each with a name, a
    description and an emoji), written in folder; returns its path."""
    import yaml

    data = yaml.safe_load(ENGAGEMENT.read_text(encoding="utf-8"))
    data["themes"] = [{"id": theme, "name": theme.title(), "description": f"About {theme}.",
                       "emoji": "⭐"} for theme in theme_ids]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "engagement.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory) -> Path:
    """A folder holding the int8 sentence encoder, built once for the whole test run."""
    directory = tmp_path_factory.mktemp("encoder")
    ensure_encoder(directory)
    return directory


def link_encoder(encoder_dir: Path, directory: Path) -> Path:
    """Make directory hold the shared encoder (as links), so nothing is built again there."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (ENCODER_FILE, VOCAB_FILE):
        if not (directory / name).exists():
            os.symlink(encoder_dir / name, directory / name)
    return directory


@pytest.fixture(scope="session")
def examples():
    """The repository's training examples."""
    return load_examples()


@pytest.fixture(scope="session")
def split(examples):
    """The repository's examples shuffled and cut in two: 80 % to train on, 20 % held out."""
    shuffled = list(examples)
    random.Random(11).shuffle(shuffled)
    cut = len(shuffled) * 4 // 5
    return shuffled[:cut], shuffled[cut:]


@pytest.fixture(scope="session")
def tagger(tmp_path_factory, encoder_dir, split):
    """A tagger trained on 80 % of the repository's examples, saved in a temporary folder."""
    model_dir = link_encoder(encoder_dir, tmp_path_factory.mktemp("model"))
    return train_tagger(split[0], model_dir / "tagger.npz")


def make_examples(**overrides):
    """A small made-up training set with two invented themes (pets, weather) and no-theme answers."""
    pets = ["I love my dog", "my cat sleeps on my bed", "we walk the dog every day", "the puppy chews shoes",
            "my rabbit eats carrots", "feeding the cat is my job", "the dog barks at the postman",
            "I brush my cat", "our hamster runs on its wheel", "the kitten plays with string"]
    weather = ["it is raining again", "the sun is very hot today", "snow fell all night", "a big storm is coming",
               "the wind blew my hat off", "it is cold and frosty", "thunder and lightning scared me",
               "a sunny day at last", "foggy morning on the road", "heavy rain flooded the street"]
    both = ["my dog hates the rain", "the cat sleeps in the sun", "we walked the dog in the snow"]
    none = ["I don't know", "hello", "yes", "no", "what is this", "ok thanks"]
    rows = ([ThemeExample(t, ("pets",)) for t in pets] + [ThemeExample(t, ("weather",)) for t in weather]
            + [ThemeExample(t, ("pets", "weather")) for t in both] + [ThemeExample(t, ()) for t in none])
    return overrides.get("rows", rows)
