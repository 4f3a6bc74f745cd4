"""The evaluation report: a theme with no examples has no recall (n/a), not a score of 0."""
from __future__ import annotations

import pytest

from bot.themes.evaluate import compare, format_report


def test_a_theme_with_no_examples_is_not_applicable_and_left_out_of_macro():
    # c: no examples, predicted once (a plain mistake); d: no examples and never predicted
    report = compare([["a"], ["a", "b"], []], [["a"], ["b"], ["b", "c"]], ["a", "b", "c", "d"])
    assert report["themes"]["c"] == {"precision": 0.0, "recall": None, "f1": 0.0,
                                     "support": 0, "predicted": 1}
    assert report["themes"]["d"] == {"precision": None, "recall": None, "f1": None,
                                     "support": 0, "predicted": 0}
    assert report["macro"]["themes"] == 3
    assert report["macro"]["f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert report["macro"]["recall"] == pytest.approx((0.5 + 1.0 + 0) / 3)  # as before: c counts 0


def test_the_text_report_shows_n_a_and_says_what_macro_is_over():
    lines = format_report(compare([["a"], []], [["a"], ["c"]], ["a", "c", "d"])).splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert rows == {"a": ["1.000", "1.000", "1.000", "1"], "c": ["0.000", "n/a", "0.000", "0"],
                    "d": ["n/a", "n/a", "n/a", "0"]}
    assert "macro: averaged over 2 themes with examples or predictions; n/a: no examples of the theme " \
        "(one the tagger predicted all the same counts as 0 in the macro figures)" in lines


def test_nothing_to_measure_is_n_a_not_zero():
    # One answer labelled with no theme, and the tagger rightly finds none: no score is 0.
    report = compare([[]], [[]], ["a", "b"])
    assert report["micro"] == {"precision": None, "recall": None, "f1": None}
    assert report["macro"] == {"precision": None, "recall": None, "f1": None, "themes": 0}
    lines = format_report(report).splitlines()
    assert "micro precision n/a  recall n/a  F1 n/a" in lines
    assert "macro precision n/a  recall n/a  F1 n/a" in lines
