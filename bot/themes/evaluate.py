"""Measure a theme tagger against labelled answers: precision, recall and F1 per theme, micro and macro."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.themes.examples import ThemeExample, as_examples, theme_ids_in


def evaluate(tagger, examples: Iterable, theme_ids: Sequence[str] = ()) -> dict:
    """Tag the examples' texts and compare with their themes; return a report dict.

    The report: {"examples": n, "themes": {id: {precision, recall, f1, support, predicted}},
    "micro": {precision, recall, f1}, "macro": {precision, recall, f1, themes}}. Themes are the
    tagger's plus any the examples name that it does not know (these count as missed).
    A theme no example has gets recall None, and precision and F1 None too if the tagger never
    predicted it; macro averages skip such a theme ("themes": how many they average over).
    theme_ids: the order of the report's themes (default: the tagger's).
    """
    examples = [example if isinstance(example, ThemeExample) else as_examples([example])[0]
                for example in examples]
    predicted = [result.themes for result in tagger.tag([example.text for example in examples])]
    return compare([example.themes for example in examples], predicted, theme_ids or tagger.theme_ids)


def unknown_themes(numbered: Iterable[Tuple[int, ThemeExample]], known: Sequence[str]) -> Dict[str, List[int]]:
    """The theme ids the (line number, example) pairs name that are not known, each with its lines."""
    known_set = set(known)
    unknown: Dict[str, List[int]] = {}
    for number, example in numbered:
        for theme in example.themes:
            if theme not in known_set:
                unknown.setdefault(theme, []).append(number)
    return unknown


def compare(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
            theme_ids: Sequence[str] = ()) -> dict:
    """The evaluation report for gold and predicted theme lists, answer by answer."""
    themes: List[str] = list(dict.fromkeys([*theme_ids, *(t for row in gold for t in row)]))
    counts = {theme: {"tp": 0, "fp": 0, "fn": 0} for theme in themes}
    for gold_row, predicted_row in zip(gold, predicted):
        gold_set, predicted_set = set(gold_row), set(predicted_row)
        for theme in themes:
            if theme in gold_set and theme in predicted_set:
                counts[theme]["tp"] += 1
            elif theme in predicted_set:
                counts[theme]["fp"] += 1
            elif theme in gold_set:
                counts[theme]["fn"] += 1
    per_theme: Dict[str, dict] = {}
    for theme, count in counts.items():
        precision, recall, f1 = _prf(count["tp"], count["fp"], count["fn"])
        per_theme[theme] = {"precision": precision, "recall": recall, "f1": f1,
                            "support": count["tp"] + count["fn"], "predicted": count["tp"] + count["fp"]}
    totals = [sum(count[key] for count in counts.values()) for key in ("tp", "fp", "fn")]
    # No theme in the gold labels nor in the predictions (every answer "none", and rightly so):
    # nothing to measure, so n/a rather than a score of 0.
    micro = dict(zip(("precision", "recall", "f1"), _prf(*totals) if any(totals) else (None,) * 3))
    scored = [row for row in per_theme.values() if row["support"] or row["predicted"]]
    macro = {key: (sum(row[key] for row in scored) / len(scored) if scored else None)
             for key in ("precision", "recall", "f1")}
    macro["themes"] = len(scored)
    for row in per_theme.values():
        _leave_out_what_cannot_be_measured(row)
    return {"examples": len(gold), "themes": per_theme, "micro": micro, "macro": macro}


def _leave_out_what_cannot_be_measured(row: dict) -> None:
    """None (not 0) for the scores a theme with no examples cannot have: its recall, and its
    precision and F1 too if it was never predicted (a prediction of it is simply wrong)."""
    if row["support"]:
        return
    row["recall"] = None
    if not row["predicted"]:
        row["precision"] = row["f1"] = None


def _prf(true_positive: int, false_positive: int, false_negative: int):
    precision = true_positive / (true_positive + false_positive) if true_positive + false_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive + false_negative else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def format_report(report: dict) -> str:
    """The report as a plain-text table for the terminal."""
    width = max([len("theme"), *(len(theme) for theme in report["themes"])])
    lines = [f"{'theme':<{width}}  precision  recall     f1  support",
             f"{'-' * width}  ---------  ------  -----  -------"]
    for theme, row in report["themes"].items():
        lines.append(f"{theme:<{width}}  {_score(row['precision'], 9)}  {_score(row['recall'], 6)}  "
                     f"{_score(row['f1'], 5)}  {row['support']:7d}")
    lines.append("")
    for name in ("micro", "macro"):
        row = report[name]
        lines.append(f"{name} precision {_score(row['precision'], 0)}  recall {_score(row['recall'], 0)}  "
                     f"F1 {_score(row['f1'], 0)}")
    if "themes" in report["macro"]:
        averaged = report["macro"]["themes"]
        lines.append(f"macro: averaged over {averaged} theme{'s' if averaged != 1 else ''} with "
                     "examples or predictions; n/a: no examples of the theme (one the tagger "
                     "predicted all the same counts as 0 in the macro figures)")
    lines.append(f"answers: {report['examples']}")
    return "\n".join(lines)


def _score(value: Optional[float], width: int) -> str:
    """A score to three places, or n/a where there was nothing to measure."""
    return f"{value:{width}.3f}" if value is not None else f"{'n/a':>{width}}"


def cross_validate(examples: Iterable, *, encoder_dir, folds: int = 5, seed: int = 0, config=None) -> dict:
    """Train on all folds but one and tag the one left out, in turn; report on all answers.

    Each fold's tagger tunes its own thresholds on its own training part, so no answer is
    ever scored by a tagger that saw it.
    """
    import random

    from bot.themes.training import train_tagger

    examples = [example if isinstance(example, ThemeExample) else as_examples([example])[0]
                for example in examples]
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    predicted: List[List[str]] = [[] for _ in examples]
    theme_ids = theme_ids_in(examples)
    for fold in range(folds):
        held = order[fold::folds]
        held_set = set(held)
        tagger = train_tagger([examples[i] for i in order if i not in held_set], None, themes=theme_ids,
                              config=config, encoder_dir=encoder_dir)
        for index, result in zip(held, tagger.tag([examples[i].text for i in held])):
            predicted[index] = result.themes
    return compare([example.themes for example in examples], predicted, theme_ids)
