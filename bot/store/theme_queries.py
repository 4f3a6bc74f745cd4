"""Store functions for the themes on answers."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.models import Answer, AnswerTheme

PERSON_SOURCES = ("participant", "staff")


def tags_of(session: Session, *, answer_id: int) -> List[AnswerTheme]:
    """The themes on one answer."""
    return list(session.execute(select(AnswerTheme).where(AnswerTheme.answer_id == answer_id)
                                .order_by(AnswerTheme.id)).scalars())


def set_auto_tags(session: Session, *, answer_id: int, scores: Dict[str, float],
                  themes: Iterable[str]) -> bool:
    """Replace the tagger's tags on an answer; never touches themes a person chose, even none
    (False then)."""
    answer = session.get(Answer, answer_id)
    if answer is None or answer.themes_set_by is not None:
        return False
    existing = tags_of(session, answer_id=answer_id)
    if any(tag.source in PERSON_SOURCES for tag in existing):
        return False
    session.execute(delete(AnswerTheme).where(AnswerTheme.answer_id == answer_id))
    for theme in themes:
        session.add(AnswerTheme(answer_id=answer_id, theme_id=theme, score=scores.get(theme),
                                source="auto"))
    session.flush()
    return True


def set_person_tags(session: Session, *, answer_id: int, themes: Iterable[str],
                    source: str, scores: Optional[Dict[str, float]] = None) -> None:
    """Set an answer's themes as a participant or staff member chose them (possibly none)."""
    answer = session.get(Answer, answer_id)
    if answer is not None:
        answer.themes_set_by = source
    session.execute(delete(AnswerTheme).where(AnswerTheme.answer_id == answer_id))
    for theme in dict.fromkeys(themes):
        session.add(AnswerTheme(answer_id=answer_id, theme_id=theme, source=source,
                                score=(scores or {}).get(theme)))
    session.flush()


def person_tagged_examples(session: Session) -> List[Tuple[str, List[str]]]:
    """(text, theme ids) for every unflagged answer whose themes a person confirmed or set;
    an answer a person said has none of the themes comes with no ids."""
    rows = session.execute(
        select(Answer.id, Answer.text, Answer.themes_set_by, AnswerTheme.theme_id,
               AnswerTheme.source)
        .join(AnswerTheme, AnswerTheme.answer_id == Answer.id, isouter=True)
        .where(Answer.flagged.is_(False)).order_by(Answer.id)).all()
    examples: Dict[int, Tuple[str, List[str], bool]] = {}
    for answer_id, text, set_by, theme, source in rows:
        text_, themes, by_person = examples.get(answer_id, (text, [], False))
        if theme is not None:
            themes.append(theme)
        examples[answer_id] = (text_, themes,
                               by_person or set_by is not None or source in PERSON_SOURCES)
    return [(text, themes) for text, themes, by_person in examples.values() if by_person]


def answers_to_tag(session: Session) -> List[Answer]:
    """Unflagged answers that no person has tagged, for re-tagging after training."""
    person = select(AnswerTheme.answer_id).where(AnswerTheme.source.in_(PERSON_SOURCES))
    return list(session.execute(select(Answer).where(
        Answer.flagged.is_(False), Answer.themes_set_by.is_(None),
        Answer.id.not_in(person))).scalars())
