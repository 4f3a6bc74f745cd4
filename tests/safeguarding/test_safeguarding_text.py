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


@pytest.mark.parametrize("raw", ["", "😊", "我想回家", "\x00", "ǅ" * 3])
def test_odd_text(normalise, raw):
    assert isinstance(normalise(raw), str)
