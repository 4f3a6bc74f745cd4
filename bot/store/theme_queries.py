"""Store functions for the themes on answers."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, selectinload

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


def answers_to_review(session: Session, *, set_by: Optional[str] = None,
                      question_id: Optional[str] = None, theme_id: Optional[str] = None,
                      limit: int = 50) -> List[Answer]:
    """Unflagged answers with their themes, oldest first, for staff to check and set by hand.

    set_by: "auto" (no person has set them yet), "participant" or "staff"; theme_id: answers
    that have that theme now."""
    query = select(Answer).options(selectinload(Answer.themes)).where(Answer.flagged.is_(False))
    def tagged_by(*sources):
        return select(AnswerTheme.answer_id).where(AnswerTheme.source.in_(sources))

    if set_by == "auto":  # as answers_to_tag: no person has chosen its themes
        query = query.where(Answer.themes_set_by.is_(None),
                            Answer.id.not_in(tagged_by(*PERSON_SOURCES)))
    elif set_by is not None:
        query = query.where(or_(Answer.themes_set_by == set_by, Answer.id.in_(tagged_by(set_by))))
    if question_id is not None:
        query = query.where(Answer.question_id == question_id)
    if theme_id is not None:
        query = query.where(Answer.id.in_(select(AnswerTheme.answer_id)
                                          .where(AnswerTheme.theme_id == theme_id)))
    return list(session.execute(query.order_by(Answer.id).limit(limit)).scalars())
