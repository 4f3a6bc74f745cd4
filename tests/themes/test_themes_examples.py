"""The training examples file: enough, varied, well formed, and none copied from the measurement set."""
from __future__ import annotations

import collections
import json

import pytest

from bot.themes import EXAMPLES_FILE, ExamplesError, load_examples
from bot.themes.evaluate import compare
from tests.themes.conftest import DEV_FILE


def test_examples_file_is_big_and_balanced(examples):
    counts = collections.Counter(theme for example in examples for theme in example.themes)
    assert len(examples) >= 600
    assert len(counts) == 7 and min(counts.values()) >= 80, counts
    assert sum(1 for example in examples if not example.themes) >= 60
    assert sum(1 for example in examples if len(example.themes) > 1) >= 100


def test_examples_are_distinct_and_well_formed():
    texts = []
    for line in EXAMPLES_FILE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert set(record) <= {"text", "themes", "who"} and record["text"].strip()
        texts.append(record["text"].strip().lower())
    assert len(texts) == len(set(texts))


@pytest.mark.skipif(not DEV_FILE.exists(), reason="the shared measurement set is not beside the project")
def test_no_example_comes_from_the_measurement_set(examples):
    def words(text):
        return tuple("".join(c if c.isalnum() else " " for c in text.lower()).split())

    ours = {words(example.text) for example in examples}
    ours_grams = {gram for text in ours for gram in zip(*(text[i:] for i in range(6)))}
    for line in DEV_FILE.read_text(encoding="utf-8").splitlines():
        theirs = words(json.loads(line)["text"])
        assert theirs not in ours
        # no run of six words in a row taken from a real quote either
        assert not ours_grams & set(zip(*(theirs[i:] for i in range(6)))), theirs


def test_bad_examples_file_names_the_line(tmp_path):
    path = tmp_path / "examples.jsonl"
    path.write_text('{"text": "fine", "themes": []}\n{"text": "no themes"}\n')
    with pytest.raises(ExamplesError, match="line 2"):
        load_examples(path)


def test_compare_counts_precision_recall_and_f1():
    report = compare([["a"], ["a", "b"], []], [["a"], ["b"], ["b"]], ["a", "b", "c"])
    assert report["themes"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                     "support": 2, "predicted": 1}
    assert report["themes"]["b"]["precision"] == 0.5 and report["themes"]["b"]["recall"] == 1.0
    assert report["micro"]["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    # c was never expected nor predicted: it does not drag the macro average down
    assert report["macro"]["f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
