"""Export answers word for word to CSV, XLSX or JSON, streaming, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
from pathlib import Path
from typing import BinaryIO, Callable, Dict, List, Optional, TextIO

from sqlalchemy.orm import Session

from bot.engagement import Engagement
from bot.staff.files import export_target, written_beside
from bot.store import staff_queries
from bot.store.staff_queries import AnswerFilter, ExportRow

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "json")
ROLE_LABELS = {"self": "self", "on_behalf": "on behalf", "support_worker": "support worker"}
NOT_SAID = "not said"
HEADERS = ("Participant", "Role", "Question id", "Question", "Answer", "Themes", "Channel",
           "Time (UTC)")
# Added as the last column only when flagged answers are exported (--include-flagged).
FLAG_HEADER = "Safeguarding flag"
FLAG_YES = "yes"
# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV injection);
# the full-width forms are included because some spreadsheets fold them to the ASCII ones.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet could read this cell as a formula."""
    return value[:1] in FORMULA_STARTS


def safe_cell(value: str) -> str:
    """The value with a leading single quote if a spreadsheet could run it as a formula."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


def role_label(role: Optional[str]) -> str:
    """How a role reads in exports and reports: self, on behalf, support worker."""
    return ROLE_LABELS.get(role, role) if role else NOT_SAID


def iso_utc(moment) -> str:
    """A UTC time as ISO 8601 to the second, e.g. 2025-03-01T10:15:00Z."""
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def themes_cell(row: ExportRow) -> str:
    """Every tag on the answer with who set it, e.g. 'being_safe (participant); purpose (auto)',
    or 'none (participant)' when a person said none of the themes fit."""
    if not row.tags and row.themes_set_by:
        return f"none ({row.themes_set_by})"
    return "; ".join(f"{theme} ({source})" for theme, source in row.tags)


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Optional[Path]  # None: standard output
    format: str
    rows: int
    answer_filter: AnswerFilter


# The Counts sheet's rows for answers without a theme: no theme id is empty or has a space.
NO_THEME_YET = ""
NONE_FIT = " none"


class Counts:
    """Answers per theme by role and by question, gathered while the rows stream past."""

    def __init__(self):
        self.by_role: Dict[str, Dict[str, int]] = {}
        self.by_question: Dict[str, Dict[str, int]] = {}
        self.rows = 0

    def add(self, row: ExportRow) -> None:
        """Count one exported answer under each of its themes (NO_THEME_YET, or NONE_FIT when a
        person said none of the themes fit)."""
        self.rows += 1
        for theme in row.theme_ids or [NONE_FIT if row.themes_set_by else NO_THEME_YET]:
            by_role = self.by_role.setdefault(theme, {})
            by_role[role_label(row.role)] = by_role.get(role_label(row.role), 0) + 1
            by_question = self.by_question.setdefault(theme, {})
            by_question[row.question_id] = by_question.get(row.question_id, 0) + 1


class _Writer:
    """Writes rows of one export format; subclasses open, write and close the file."""

    needs_counts = False  # only the XLSX file has a sheet of counts

    def __init__(self, path: Path, engagement: Engagement, *, flag_column: bool = False):
        self.path = path
        self.engagement = engagement
        self.flag_column = flag_column
        self.headers = HEADERS + (FLAG_HEADER,) if flag_column else HEADERS
        self.questions = {question.id: question for question in engagement.questions}

    def question(self, row: ExportRow) -> str:
        """The question as this participant was asked it (worded for their role)."""
        question = self.questions.get(row.question_id)
        return question.wording(row.role) if question else ""

    def values(self, row: ExportRow) -> List[str]:
        """The cells of one row, in the order of self.headers."""
        cells = [row.pseudonym, role_label(row.role), row.question_id,
                 self.question(row), row.text, themes_cell(row), row.channel,
                 iso_utc(row.created_at)]
        if self.flag_column:
            cells.append(FLAG_YES if row.flagged else "")
        return cells

    def write(self, row: ExportRow) -> None:  # pragma: no cover
        raise NotImplementedError

    def close(self, counts: Counts) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _open_text(path: Optional[Path], stream: Optional[BinaryIO], **options) -> TextIO:
    """A text file to write: the file at path, or the binary stream (left open) if given."""
    if stream is None:
        return open(path, "w", **options)
    return io.TextIOWrapper(stream, **options)


def _close_text(file: TextIO, stream: Optional[BinaryIO]) -> None:
    """Close what _open_text opened; a stream given to it is flushed and left open."""
    if stream is None:
        file.close()
    else:
        file.flush()
        file.detach()


class _CsvWriter(_Writer):
    """CSV in UTF-8 with a byte order mark, so spreadsheets read the words correctly."""

    def __init__(self, path: Optional[Path], engagement: Engagement, *, flag_column: bool = False,
                 stream: Optional[BinaryIO] = None):
        super().__init__(path, engagement, flag_column=flag_column)
        self._stream = stream
        self._file = _open_text(path, stream, newline="", encoding="utf-8-sig")
        self._csv = csv.writer(self._file)
        self._csv.writerow(self.headers)

    def write(self, row: ExportRow) -> None:
        # Python 3.10's csv module cannot write a NUL character (SQLite can hold one).
        self._csv.writerow([safe_cell(value).replace("\x00", "\ufffd")
                            for value in self.values(row)])

    def close(self, counts: Counts) -> None:
        _close_text(self._file, self._stream)


class _JsonWriter(_Writer):
    """A JSON array of answer objects, written one object at a time; text kept exactly."""

    def __init__(self, path: Optional[Path], engagement: Engagement, *, flag_column: bool = False,
                 stream: Optional[BinaryIO] = None):
        super().__init__(path, engagement, flag_column=flag_column)
        self._stream = stream
        self._file = _open_text(path, stream, encoding="utf-8")
        self._file.write("[")
        self._first = True

    def write(self, row: ExportRow) -> None:
        record = {
            "participant": row.pseudonym, "role": role_label(row.role),
            "question_id": row.question_id, "question": self.question(row),
            "answer": row.text,
            "themes": [{"theme": theme, "source": source} for theme, source in row.tags],
            "themes_set_by": row.themes_set_by,
            "channel": row.channel, "time": iso_utc(row.created_at),
        }
        if self.flag_column:
            record["flagged"] = row.flagged
        self._file.write(("\n" if self._first else ",\n") + json.dumps(record, ensure_ascii=False))
        self._first = False

    def close(self, counts: Counts) -> None:
        self._file.write("\n]\n" if not self._first else "]\n")
        _close_text(self._file, self._stream)


class _XlsxWriter(_Writer):
    """XLSX in constant-memory mode: every cell a string, formula-like ones quote-prefixed."""

    needs_counts = True

    def __init__(self, path: Path, engagement: Engagement, *, flag_column: bool = False):
        import xlsxwriter

        super().__init__(path, engagement, flag_column=flag_column)
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False})
        self._plain = None
        # quotePrefix is Excel's own mark for "text typed after an apostrophe": the words stay
        # exact, yet the cell can never become a formula, not even when someone edits it.
        self._quoted = self._book.add_format({"quote_prefix": True})
        bold = self._book.add_format({"bold": True})
        self._bold = bold
        self._sheet = self._book.add_worksheet("Answers")
        self._counts_sheet = self._book.add_worksheet("Counts")
        widths = (34, 15, 22, 40, 60, 40, 10, 21, 18)
        for column, (header, width) in enumerate(zip(self.headers, widths)):
            self._sheet.set_column(column, column, width)
            self._sheet.write_string(0, column, header, bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 0

    def write(self, row: ExportRow) -> None:
        self._row += 1
        for column, value in enumerate(self.values(row)):
            cut = self._sheet.write_string(self._row, column, value,
                                           self._quoted if is_formula_like(value) else self._plain)
            if cut == -2:  # a cell holds at most 32,767 characters
                log.warning("Answer %d is longer than an XLSX cell can hold and was cut short "
                            "there; the CSV and JSON exports keep it whole.", row.answer_id)

    def close(self, counts: Counts) -> None:
        self._sheet.autofilter(0, 0, self._row, len(self.headers) - 1)
        _write_counts(self._book, self._counts_sheet, self.engagement, counts, self._bold)
        self._book.close()


def _theme_rows(engagement: Engagement, counts: Counts) -> List[tuple]:
    """(theme id, label) for every theme: the engagement's first, then others found, then none."""
    known = [(theme.id, theme.name) for theme in engagement.themes]
    found = sorted(theme for theme in counts.by_role
                   if theme not in (NO_THEME_YET, NONE_FIT) and not engagement.theme_by_id(theme))
    return known + [(theme, theme) for theme in found] + [
        (NONE_FIT, "(none of the themes: a person said so)"), (NO_THEME_YET, "(no theme yet)")]


def _write_counts(book, sheet, engagement: Engagement, counts: Counts, bold) -> None:
    """The Counts sheet: theme x role and theme x question tables, and a chart of the first."""
    roles = list(ROLE_LABELS.values()) + [NOT_SAID]
    questions = [question.id for question in engagement.questions]
    questions += sorted({q for by_question in counts.by_question.values() for q in by_question}
                        - set(questions))
    themes = _theme_rows(engagement, counts)
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 1, 48)
    sheet.set_column(2, 2 + max(len(roles), len(questions)), 16)
    sheet.write_string(0, 0, f"Answers in this export: {counts.rows}", bold)
    sheet.write_string(1, 0, "An answer with more than one theme counts once for each theme. "
                             "A theme a person chose replaces the automatic ones.")
    first_table = 3
    _write_table(sheet, first_table, "Answers by theme and role", roles, themes,
                 counts.by_role, bold)
    second_table = first_table + len(themes) + 4
    _write_table(sheet, second_table, "Answers by theme and question", questions, themes,
                 counts.by_question, bold)
    chart = book.add_chart({"type": "bar", "subtype": "stacked"})
    header_row, last_row = first_table + 1, first_table + 1 + len(themes)
    for offset, role in enumerate(roles):
        chart.add_series({
            "name": ["Counts", header_row, 2 + offset],
            "categories": ["Counts", header_row + 1, 1, last_row, 1],
            "values": ["Counts", header_row + 1, 2 + offset, last_row, 2 + offset],
        })
    chart.set_title({"name": "Answers by theme and role"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 60 + 32 * len(themes)})
    sheet.insert_chart(second_table + len(themes) + 4, 1, chart)


def _write_table(sheet, top: int, title: str, columns: List[str], themes: List[tuple],
                 counts: Dict[str, Dict[str, int]], bold) -> None:
    sheet.write_string(top, 0, title, bold)
    headers = ["Theme id", "Theme"] + columns + ["Total"]
    for column, header in enumerate(headers):
        sheet.write_string(top + 1, column, header, bold)
    for offset, (theme_id, label) in enumerate(themes, start=top + 2):
        sheet.write_string(offset, 0, "" if theme_id in (NO_THEME_YET, NONE_FIT) else theme_id)
        sheet.write_string(offset, 1, label)
        row_counts = counts.get(theme_id, {})
        for column, name in enumerate(columns, start=2):
            sheet.write_number(offset, column, row_counts.get(name, 0))
        sheet.write_number(offset, 2 + len(columns), sum(row_counts.values()))


_WRITERS = {"csv": _CsvWriter, "json": _JsonWriter, "xlsx": _XlsxWriter}
STREAM_FORMATS = ("csv", "json")  # an XLSX file is a zip archive: only ever a file
STANDARD_OUTPUT = "standard output"


def export_answers(session: Session, engagement: Engagement, *, fmt: str, out: Optional[Path],
                   answer_filter: AnswerFilter, actor: str,
                   progress: Optional[Callable[[int], None]] = None,
                   stream: Optional[BinaryIO] = None) -> ExportResult:
    """Write the filtered answers to `out` and add an audit entry; the caller commits.

    The file appears only when complete (written beside it, then renamed), so a failed export
    leaves nothing half-written behind. A symbolic link is followed, so the file it points to
    is the one replaced; anything but an ordinary file raises ExportTargetError.
    out None: CSV or JSON goes to the binary stream (standard output) as it is read.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if out is None:
        if fmt not in STREAM_FORMATS:
            raise ValueError(f"An {fmt} export cannot go to {STANDARD_OUTPUT}.")
        staff_queries.begin_snapshot(session)
        writer = _WRITERS[fmt](None, engagement, flag_column=answer_filter.include_flagged,
                               stream=stream)
        counts = _write_rows(session, writer, answer_filter, progress)
    else:
        out = export_target(Path(out))
        staff_queries.begin_snapshot(session)
        with written_beside(out) as temporary:
            writer = _WRITERS[fmt](temporary, engagement, flag_column=answer_filter.include_flagged)
            counts = _write_rows(session, writer, answer_filter, progress)
    staff_queries.add_audit(session, actor=actor, action="export", detail={
        "format": fmt, "file": out.name if out else STANDARD_OUTPUT, "rows": counts.rows,
        "filters": describe_filter(answer_filter)})
    log.info("Exported %d answers to %s", counts.rows, out or STANDARD_OUTPUT)
    return ExportResult(out, fmt, counts.rows, answer_filter)


def _write_rows(session: Session, writer: _Writer, answer_filter: AnswerFilter,
                progress: Optional[Callable[[int], None]]) -> Counts:
    """Write every filtered answer, batch by batch, then close the writer; return the counts."""
    counts = Counts()
    for batch in staff_queries.export_batches(session, answer_filter=answer_filter):
        for row in batch:
            writer.write(row)
        if writer.needs_counts:
            for row in batch:
                counts.add(row)
        else:
            counts.rows += len(batch)
        if progress is not None:
            progress(len(batch))
    writer.close(counts)
    return counts


def _iso_or_none(moment) -> Optional[str]:
    return iso_utc(staff_queries.as_utc(moment)) if moment is not None else None


def describe_filter(answer_filter: AnswerFilter) -> dict:
    """The filter as plain values for the audit log."""
    return {
        "theme": ", ".join(answer_filter.theme_ids) or None,
        "question": ", ".join(answer_filter.question_ids) or None,
        "since": _iso_or_none(answer_filter.since), "until": _iso_or_none(answer_filter.until),
        "include_flagged": answer_filter.include_flagged,
    }
