"""The report: one self-contained HTML file of who took part and what they said (and Easy Read)."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Dict, List, Optional, Tuple

from sqlalchemy.orm import Session

from bot.engagement import Engagement
from bot.staff.actions import as_sentence
from bot.staff.files import written_beside
from bot.store import staff_queries
from bot.store.models import ROLES, StaffAction, utcnow

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
STAFF_TEMPLATE = "report.html.j2"
EASY_READ_TEMPLATE = "report_easy_read.html.j2"
QUOTES_PER_THEME = 3


@dataclasses.dataclass(frozen=True)
class ThemeFigures:
    """One theme: its words and picture, its answer count, quotes and actions."""

    id: str
    name: str
    description: str
    emoji: str
    answers: int
    quotes: List[staff_queries.Quote]  # each with the role it was given in
    actions: List[StaffAction]
    easy_name: str = ""


@dataclasses.dataclass(frozen=True)
class QuestionFigures:
    """One question and how many answers it had."""

    id: str
    text: str
    answers: int


@dataclasses.dataclass(frozen=True)
class ReportData:
    """Every figure in the report, read from the store in one go (flagged answers left out)."""

    engagement: Engagement
    generated_at: datetime
    people: int  # distinct people, however many roles they answered in
    people_by_role: List[Tuple[Optional[str], int]]  # role (None: not said), count
    answers: int
    unthemed: int  # no theme, and nobody has said none fit
    themes: List[ThemeFigures]
    questions: List[QuestionFigures]
    people_in_several_roles: int = 0  # counted under each of their roles in people_by_role
    no_theme_fits: int = 0  # a participant or staff said none of the themes fit


def collect_report(session: Session, engagement: Engagement, *,
                   quotes_per_theme: int = QUOTES_PER_THEME,
                   now: Optional[datetime] = None) -> ReportData:
    """Read the report's figures, quotes and actions from the store."""
    staff_queries.begin_snapshot(session)
    by_role = staff_queries.people_by_role(session)
    roles = [(role, by_role.get(role, 0)) for role in ROLES]
    roles += [(role, count) for role, count in sorted(by_role.items(), key=lambda i: str(i[0]))
              if role not in ROLES]
    by_question = staff_queries.answers_by_question(session)
    by_theme = staff_queries.answers_by_theme(session)
    actions: Dict[str, List[StaffAction]] = {}
    for action in staff_queries.list_actions(session):
        actions.setdefault(action.theme_id, []).append(action)
    theme_words = [(t.id, t.name, t.description, t.emoji) for t in engagement.themes]
    theme_words += [(theme_id, theme_id, "", "") for theme_id in sorted(by_theme)
                    if engagement.theme_by_id(theme_id) is None]
    themes = [
        ThemeFigures(theme_id, name, description, emoji, by_theme.get(theme_id, 0),
                     staff_queries.quotes_for_theme(session, theme_id=theme_id,
                                                    limit=quotes_per_theme),
                     actions.get(theme_id, []),
                     getattr(engagement.theme_by_id(theme_id), "easy_name", ""))
        for theme_id, name, description, emoji in theme_words
    ]
    questions = [QuestionFigures(q.id, q.text, by_question.get(q.id, 0))
                 for q in engagement.questions]
    questions += [QuestionFigures(question_id, question_id, count)
                  for question_id, count in sorted(by_question.items())
                  if engagement.question_by_id(question_id) is None]
    return ReportData(
        engagement=engagement, generated_at=now or utcnow(),
        people=staff_queries.count_people(session), people_by_role=roles,
        answers=sum(by_question.values()), unthemed=staff_queries.count_unthemed(session),
        themes=themes, questions=questions,
        people_in_several_roles=staff_queries.count_people_in_several_roles(session),
        no_theme_fits=staff_queries.count_unthemed(session, decided=True))


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html", "j2"], default=True),
                       trim_blocks=True, lstrip_blocks=True)


def bar_rows(pairs: List[Tuple[str, int]]) -> List[dict]:
    """Chart rows: label, value and bar width as a share (0-1) of the biggest value."""
    biggest = max((value for _, value in pairs), default=0)
    return [{"label": label, "value": value, "share": (value / biggest) if biggest else 0.0}
            for label, value in pairs]


def render_report(data: ReportData, *, easy_read: bool = False) -> str:
    """The report as one HTML page with inline styles and SVG charts: nothing to fetch."""
    template = _environment().get_template(EASY_READ_TEMPLATE if easy_read else STAFF_TEMPLATE)
    if easy_read:  # participants read each theme's easy name, not the official one
        data = dataclasses.replace(data, themes=[
            dataclasses.replace(t, name=t.easy_name or t.name) for t in data.themes])
    return template.render(data=data, bar_rows=bar_rows, as_sentence=as_sentence)


def _replace_file(out: Path, page: str) -> None:
    """Write the page to `out` as an export is written (see written_beside): the last report
    stays whole if this one fails, and anything but an ordinary file raises ExportTargetError."""
    with written_beside(out) as temporary:
        temporary.write_text(page, encoding="utf-8")


def write_report(session: Session, engagement: Engagement, *, out: Optional[Path], actor: str,
                 easy_read: bool = False, stream: Optional[BinaryIO] = None) -> ReportData:
    """Collect, render and write the report (out None: to the binary stream, such as standard
    output), and add an audit entry; the caller commits."""
    data = collect_report(session, engagement)
    page = render_report(data, easy_read=easy_read)
    if out is None:
        stream.write(page.encode("utf-8"))
        stream.flush()
    else:
        _replace_file(Path(out), page)
    staff_queries.add_audit(session, actor=actor, action="report", detail={
        "file": Path(out).name if out else "standard output", "easy_read": easy_read,
        "people": data.people, "answers": data.answers})
    return data
