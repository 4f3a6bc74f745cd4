"""'You said, we did': staff actions per theme, and each participant's own summary of them."""
from __future__ import annotations

import dataclasses
import logging
from typing import List, Optional

from sqlalchemy.orm import Session

from bot.engagement import Engagement
from bot.readability import Readability, check
from bot.store import staff_queries
from bot.store.models import ACTION_STATUSES, StaffAction

log = logging.getLogger(__name__)

# The words go to participants in "you said, we did" news, a few actions to one message, and
# should be a few short sentences (see bot/readability.py): 500 characters is plenty for that.
MAX_ACTION_CHARS = 500


class ActionError(ValueError):
    """A staff request about actions that cannot be carried out (unknown theme, id or status)."""


@dataclasses.dataclass(frozen=True)
class Summary:
    """What one participant told us about, and what staff do about those themes."""

    answer_count: int
    themes: List[str]
    actions: List[StaffAction]


def summary_for(session: Session, *, participant_id: int,
                leave_out_answer: Optional[int] = None) -> Summary:
    """The participant's answer count, their own themes, and the actions for those themes only
    (leave_out_answer: an answer whose themes are still being checked counts, but not its themes)."""
    themes = staff_queries.participant_theme_ids(session, participant_id=participant_id,
                                                 leave_out_answer=leave_out_answer)
    order = {theme: position for position, theme in enumerate(themes)}
    actions = sorted(staff_queries.list_actions(session, theme_ids=themes),
                     key=lambda action: (order[action.theme_id], action.id))
    answer_count = staff_queries.count_participant_answers(session, participant_id=participant_id)
    return Summary(answer_count, themes, actions)


def _check_theme(engagement: Engagement, theme_id: str) -> None:
    if engagement.theme_by_id(theme_id) is None:
        known = ", ".join(theme.id for theme in engagement.themes)
        raise ActionError(f"Unknown theme id {theme_id!r}. The themes are: {known}.")


def _check_status(status: str) -> None:
    if status not in ACTION_STATUSES:
        raise ActionError(f"Unknown status {status!r}. Use one of: {', '.join(ACTION_STATUSES)}.")


def check_text(text: str) -> None:
    """Refuse (ActionError) words that are blank or too long for an action."""
    words = text.strip()
    if not words:
        raise ActionError("The action needs some words.")
    if len(words) > MAX_ACTION_CHARS:
        raise ActionError(f"The action's words are too long: {len(words):,} characters "
                          f"(at most {MAX_ACTION_CHARS}). Say it in a few short sentences.")


def add_action(session: Session, engagement: Engagement, *, theme_id: str, text: str,
               status: str, actor: str) -> tuple:
    """Store an action for a theme; returns it and the readability check of its words."""
    _check_theme(engagement, theme_id)
    _check_status(status)
    check_text(text)
    action = staff_queries.add_action(session, theme_id=theme_id, text=text.strip(), status=status)
    staff_queries.add_audit(session, actor=actor, action="action_add", detail={
        "action_id": action.id, "theme": theme_id, "status": status})
    return action, check(action.text)


def update_action(session: Session, *, action_id: int, actor: str, text: Optional[str] = None,
                  status: Optional[str] = None) -> tuple:
    """Change an action's words or status; a real change bumps its revision.

    Returns the action, whether it changed, and the readability check of its words. The action
    stays locked until the caller's transaction ends, so updates made at once each get their
    own revision.
    """
    action = staff_queries.get_action(session, action_id=action_id, for_update=True)
    if action is None:
        raise ActionError(f"There is no action with id {action_id}.")
    changes = {}
    if text is not None:
        check_text(text)
        if text.strip() != action.text:
            changes["text"] = text.strip()
    if status is not None:
        _check_status(status)
        if status != action.status:
            changes["status"] = status
    if changes:
        for name, value in changes.items():
            setattr(action, name, value)
        action.revision += 1
        session.flush()
        staff_queries.add_audit(session, actor=actor, action="action_update", detail={
            "action_id": action.id, "changed": sorted(changes), "revision": action.revision})
    return action, bool(changes), check(action.text)


def list_actions(session: Session) -> List[StaffAction]:
    """Every action, by theme then id."""
    return staff_queries.list_actions(session)


def as_sentence(text: str) -> str:
    """The action's words ending like a sentence, so the words after it start a new one."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def readability_warning(result: Readability) -> Optional[str]:
    """A one-paragraph warning listing the plain-language problems, or None when there are none."""
    if result.ok:
        return None
    return "Warning: participants may find these words hard to read: " + "; ".join(result.problems)
