"""Every bot message lives in domain.yml, reads at a reading age of 9, and closed questions have buttons."""
import re
import string
from pathlib import Path

import pytest
import yaml

from bot.engagement import load_engagement
from bot.readability import check
from bot.settings import PROJECT_ROOT
from bot.store.models import ROLES

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
RESPONSES = DOMAIN["responses"]
ENGAGEMENT = load_engagement(PROJECT_ROOT / "engagement.yml")
LABELS = [theme.label for theme in ENGAGEMENT.themes]
SAMPLE_VALUES = {"answer": "I like my job", "count": "3", "emoji": "⭐",
                 "action": "We are opening a new club on Saturdays.",
                 "theme": max(LABELS, key=len), "themes": "\n".join(LABELS)}

CLOSED_QUESTIONS = ["utter_ask_sound", "utter_ask_consent", "utter_ask_role",
                    "utter_ask_person_agrees", "utter_ask_add_more"]


def renderings(text: str):
    """The message as participants see it, once per question wording where it has one."""
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    values = {**ENGAGEMENT.template_values(), **SAMPLE_VALUES}
    unknown = fields - set(values) - {"question", "example"}
    assert not unknown, f"placeholders with no value: {unknown}"
    if "question" not in fields:
        return [text.format(**values)]
    return [text.format(**values, question=q.wording(role), example=q.example)
            for q in ENGAGEMENT.questions for role in ROLES]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_reads_at_reading_age_nine(name):
    for variation in RESPONSES[name]:
        for message in renderings(variation["text"]):
            result = check(message)
            assert result.ok, f"{name}: {result.problems} in {message!r}"


@pytest.mark.parametrize("name", CLOSED_QUESTIONS)
def test_closed_questions_have_buttons(name):
    assert all(variation.get("buttons") for variation in RESPONSES[name])


def test_theme_labels_are_easy_words():
    for label in LABELS:
        assert len(label.split()) <= 8, label
        result = check(f"I think this is about:\n{label}\nIs that right?")
        assert result.ok, (label, result.problems)


def test_theme_descriptions_read_plainly():
    for theme in ENGAGEMENT.themes:
        result = check(theme.description)
        assert result.ok, f"engagement.yml theme {theme.id}: {result.problems}"


def test_engagement_texts_read_plainly():
    for field in ("purpose", "can_change", "cannot_change", "next_steps"):
        result = check(getattr(ENGAGEMENT, field))
        assert result.ok, f"engagement.yml {field}: {result.problems}"


def test_checker_catches_hard_text():
    hard = ("Notwithstanding the aforementioned considerations, stakeholders' contributions "
            "will subsequently inform strategic commissioning intentions.")
    assert not check(hard).ok


def test_no_wording_in_python():
    """Actions utter responses by name; they never build sentences themselves."""
    for path in list((PROJECT_ROOT / "actions").glob("*.py")):
        source = path.read_text()
        assert "utter_message(text=\"" not in source and "utter_message(text='" not in source, path


def test_every_response_used_by_actions_exists():
    used = set()
    for path in (PROJECT_ROOT / "actions").glob("*.py"):
        used |= set(re.findall(r"\"(utter_[a-z_]+)\"", path.read_text()))
    used.discard("utter_action")  # Rasa's key for the response a message came from
    assert used <= set(RESPONSES), used - set(RESPONSES)
