"""Normaliser tests: contractions, txt-speak, misspellings and odd characters."""
import pytest

from bot.safeguarding.phrasebook import load_phrasebook


@pytest.fixture(scope="module")
def normalise():
    return load_phrasebook().normaliser


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("I don't feel safe", "i do not feel safe"),
        ("He's outside NOW!", "he is outside now !"),
        ("i wanna die", "i want to die"),
        ("sum1 hits me", "someone hits me"),
        ("No one hurts me", "nobody hurts me"),
        ("im sooo scaaared", "i am so scared"),
        ("I don’t want to be here any more", "i do not want to be here anymore"),
        ("my mum's house", "my mum house"),
        ("i hurt my self", "i hurt myself"),
        ("he hurtz me", "he hurts me"),
        ("i am frightend", "i am frightened"),
    ],
)
def test_normalise(normalise, raw, expected):
    assert normalise(raw) == expected


def test_real_words_are_not_corrected(normalise):
    assert normalise("a sacred place") == "a sacred place"
    assert normalise("I was ill") == "i was ill"
    assert normalise("staff picked me up and we shared a pizza") == "staff picked me up and we shared a pizza"
    assert normalise("I like sitting in the garden, I slipped but I was amused") == (
        "i like sitting in the garden , i slipped but i was amused")


# Inflections of a target read as the target do no harm ("benefit" as "benefits").
HARMLESS_NEIGHBOURS = {"abuses", "benefit", "medications"}


def test_no_english_word_is_read_as_a_harm_word():
    """Every English word (the sentence encoder's word list) one typo from a fuzzy target is kept as it is."""
    import re

    from bot.safeguarding.text import _one_edit_apart
    from bot.themes.encoder import bundled_model_dir

    book = load_phrasebook()
    normaliser = book.normaliser
    words = {line.strip() for line in (bundled_model_dir() / "vocab.txt").open(encoding="utf-8")}
    words = {word for word in words if re.fullmatch(r"[a-z]{6,}", word)}
    deliberate = set(normaliser._spellings)  # the spelling list maps these on purpose ("scarred")
    misread = sorted(word for word in words - HARMLESS_NEIGHBOURS - deliberate if normaliser(word) != word
                     and any(_one_edit_apart(word, target) for target in normaliser._targets))
    assert misread == [], f"add these to fuzzy.keep in phrases.yml: {misread}"


@pytest.mark.parametrize("raw", ["", "😊", "我想回家", "\x00", "ǅ" * 3])
def test_odd_text(normalise, raw):
    assert isinstance(normalise(raw), str)
