"""Phrase book tests: compiling the YAML, macros, negation scope and bad files."""
import pytest

from bot.safeguarding import Detector
from bot.safeguarding.phrasebook import PhraseBookError, build_phrasebook, load_phrasebook


def tiny_book(**overrides):
    """A small phrase list as parsed YAML, with overrides."""
    raw = {
        "scoring": {"threshold": 0.5},
        "negation": {"window": 3, "cues": ["not", "nobody"], "barriers": [",", "and", "he"]},
        "hypothetical": {"window": 6, "cues": ["if"], "cancel": ["again"], "barriers": ["."]},
        "spellings": {"someone": ["sum1"]},
        "macros": {"victim": "(?:me|him|her)"},
        "masks": ["would die for"],
        "categories": {
            "physical": {"patterns": ["hits {victim}"]},
            "suicidal": {"patterns": [{"re": "die", "weight": 0.6, "hypothetical": False}]},
            "neglect": {"patterns": [{"re": "nobody feeds {victim}", "negatable": False}]},
            "immediate_danger": {"patterns": [{"re": "outside now", "immediate": True}]},
        },
    }
    raw.update(overrides)
    return build_phrasebook(raw)


def test_default_phrase_file_compiles():
    book = load_phrasebook()
    assert len(book.phrases) > 200
    assert book.model is not None and book.model.examples.exists()


def test_tiny_book_matches_negates_and_masks():
    detector = Detector(tiny_book())
    assert detector.detect("sum1 hits me").matched == ["hits me"]
    assert not detector.detect("nobody hits me").disclosure
    assert detector.detect("nobody helps, he hits me").disclosure
    assert detector.detect("nobody feeds me").disclosure
    assert not detector.detect("i would die for a cup of tea").disclosure
    assert detector.detect("i want to die").disclosure
    assert detector.detect("he is outside now").immediate_danger


def test_hypothetical_is_weighed_down_unless_it_happened_before():
    detector = Detector(tiny_book())
    assert not detector.detect("if someone hits me i tell staff").disclosure
    assert detector.detect("if he hits me again i will leave").disclosure


def test_overlapping_matches_count_once():
    raw_categories = {
        "physical": {"patterns": [{"re": "hits", "weight": 0.3}, {"re": "hits me", "weight": 0.3}]},
    }
    detector = Detector(tiny_book(categories=raw_categories))
    found = detector.detect("he hits me")
    assert found.score == pytest.approx(0.3)
    assert not found.disclosure


@pytest.mark.parametrize(
    "categories, message",
    [
        ({"physical": {"patterns": ["hits {nobody_knows}"]}}, "unknown macro"),
        ({"physical": {"patterns": ["hits (me"]}}, "bad safeguarding pattern"),
    ],
)
def test_bad_patterns_are_reported(categories, message):
    with pytest.raises(PhraseBookError, match=message):
        tiny_book(categories=categories)


def test_unreadable_or_malformed_files_are_reported(tmp_path):
    with pytest.raises(PhraseBookError, match="cannot read"):
        load_phrasebook(tmp_path / "missing.yml")
    empty = tmp_path / "empty.yml"
    empty.write_text("version: 1\n")
    with pytest.raises(PhraseBookError, match="no categories"):
        load_phrasebook(empty)
    broken = tmp_path / "broken.yml"
    broken.write_text("categories:\n  x:\n    patterns:\n      - {weight: 1}\n")
    with pytest.raises(PhraseBookError, match="malformed"):
        load_phrasebook(broken)


def test_negation_exceptions_and_immediacy_calm_and_past():
    """The mechanisms, on a tiny phrase list: an exception after a negated phrase drops the
    negation; a calm span cancels an immediacy cue; a weak immediate_danger phrase makes a
    disclosure immediate unless the harm is past; the flag and the category agree."""
    detector = Detector(tiny_book(
        negation={"window": 3, "cues": ["not", "nobody"], "barriers": [",", "and", "he"],
                  "exceptions": ["except", "but (?:my|his) \\w+"]},
        immediacy={"cues": ["now(?= *$)"], "calm": ["fine now"], "past": ["last year"]},
        categories={
            "physical": {"patterns": ["hits {victim}"]},
            "immediate_danger": {"patterns": [{"re": "drunk", "weight": 0.3}]},
        },
    ))
    assert not detector.detect("nobody hits me").disclosure
    assert detector.detect("nobody hits me except my dad").disclosure
    assert detector.detect("nobody hits me now but my dad").disclosure
    assert not detector.detect("nobody hits me but i am sad").disclosure
    assert detector.detect("he hits me now").immediate_danger
    calm = detector.detect("he hits me but it is fine now")
    assert calm.disclosure and not calm.immediate_danger
    drunk = detector.detect("he hits me when drunk")
    assert drunk.immediate_danger and "immediate_danger" in drunk.categories
    past = detector.detect("he hits me when drunk last year")
    assert not past.immediate_danger and past.categories == ["physical"]
