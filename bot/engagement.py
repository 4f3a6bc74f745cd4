"""The engagement settings file: who is asking, why, the questions and the themes."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import yaml


class EngagementError(ValueError):
    """The engagement file is missing, unreadable or incomplete."""


@dataclasses.dataclass(frozen=True)
class Question:
    """One open question, worded for the participant, for someone answering for them and for
    a support worker (asked about the people they support, so staff know whose life it is)."""

    id: str
    text: str
    text_for_them: str
    example: str
    text_for_supported: str = ""  # none: a support worker reads the "you" wording

    def wording(self, role: Optional[str]) -> str:
        """The question as someone answering in this role should see it."""
        if role == "on_behalf":
            return self.text_for_them
        if role == "support_worker":
            return self.text_for_supported or self.text
        return self.text


@dataclasses.dataclass(frozen=True)
class Theme:
    """One theme answers can be tagged with."""

    id: str
    name: str
    description: str
    emoji: str = ""
    easy_name: str = ""

    @property
    def label(self) -> str:
        """What a participant sees: the picture and the easy name."""
        return f"{self.emoji} {self.easy_name or self.name}".strip()


@dataclasses.dataclass(frozen=True)
class Engagement:
    """Everything that describes one engagement."""

    id: str
    title: str
    organiser: str
    purpose: str
    can_change: str
    cannot_change: str
    next_steps: str
    contact: str
    consent_version: str
    safeguarding_lead: str
    safeguarding_number: str
    questions: List[Question]
    themes: List[Theme]
    alert_telegram_chat_id: str = ""
    alert_email: str = ""

    def question(self, index: int) -> Optional[Question]:
        """The question at this position, or None past the last one."""
        if 0 <= index < len(self.questions):
            return self.questions[index]
        return None

    def question_by_id(self, question_id: str) -> Optional[Question]:
        """The question with this id, or None."""
        return next((q for q in self.questions if q.id == question_id), None)

    def theme_by_id(self, theme_id: str) -> Optional[Theme]:
        """The theme with this id, or None."""
        return next((t for t in self.themes if t.id == theme_id), None)

    def template_values(self) -> dict:
        """Values that domain.yml responses may use as {placeholders}."""
        return {
            "title": self.title,
            "organiser": self.organiser,
            "purpose": self.purpose,
            "can_change": self.can_change,
            "cannot_change": self.cannot_change,
            "next_steps": self.next_steps,
            "contact": self.contact,
            "safeguarding_lead": self.safeguarding_lead,
            "local_number": self.safeguarding_number,
            "question_count": str(len(self.questions)),
        }


_REQUIRED = ("id", "title", "organiser", "purpose", "can_change", "cannot_change",
             "next_steps", "contact", "consent_version", "questions", "themes")


def load_engagement(path: Path) -> Engagement:
    """Read and check the engagement file; raise EngagementError with one clear line."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EngagementError(f"The engagement file {path} does not exist.") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        place = f" (line {where.line + 1})" if where else ""
        raise EngagementError(f"The engagement file {path} is not valid YAML{place}.") from None
    if not isinstance(raw, dict):
        raise EngagementError(f"The engagement file {path} must be a mapping of settings.")
    missing = [key for key in _REQUIRED if not raw.get(key)]
    if missing:
        raise EngagementError(f"The engagement file {path} is missing: {', '.join(missing)}.")
    try:
        questions = [
            Question(id=str(q["id"]), text=q["text"], text_for_them=q.get("text_for_them") or q["text"],
                     text_for_supported=q.get("text_for_supported") or "",
                     example=q.get("example", ""))
            for q in raw["questions"]
        ]
        themes = [
            Theme(id=str(t["id"]), name=t["name"], description=t.get("description", ""),
                  emoji=t.get("emoji", ""), easy_name=t.get("easy_name", ""))
            for t in raw["themes"]
        ]
    except (KeyError, TypeError) as exc:
        raise EngagementError(f"The engagement file {path} has a question or theme without {exc}.") from None
    for kind, items in (("question", questions), ("theme", themes)):
        ids = [item.id for item in items]
        if len(ids) != len(set(ids)):
            raise EngagementError(f"The engagement file {path} repeats a {kind} id.")
    guard = raw.get("safeguarding") or {}
    return Engagement(
        id=str(raw["id"]), title=raw["title"], organiser=raw["organiser"], purpose=raw["purpose"],
        can_change=raw["can_change"], cannot_change=raw["cannot_change"],
        next_steps=raw["next_steps"], contact=raw["contact"],
        consent_version=str(raw["consent_version"]),
        safeguarding_lead=guard.get("lead", "our safety lead"),
        safeguarding_number=str(guard.get("local_number", "")),
        questions=questions, themes=themes,
        alert_telegram_chat_id=str(guard.get("alert_telegram_chat_id") or ""),
        alert_email=str(guard.get("alert_email") or ""),
    )
