"""The staff tests' known data set (engagement, participants, answers, actions) and helpers
to read back what the staff commands wrote (XLSX cells, HTML tables and text)."""
from __future__ import annotations

import dataclasses
import re
import textwrap
import zipfile
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List
from xml.etree import ElementTree

from tests.conftest import make_settings

# Proposed wording for domain.yml; used only while domain.yml lacks these responses.
PENDING_UPDATE_RESPONSES = {
    "utter_update_intro": "Hello. We have news about what you told us.",
    "utter_update_item_planned": "{emoji} {theme}\n{action} We have not started yet.",
    "utter_update_item_doing": "{emoji} {theme}\n{action} We are doing this now.",
    "utter_update_item_done": "{emoji} {theme}\n{action} We have done this.",
    "utter_update_stop": "You can stop these messages at any time. Press the button below.",
    "utter_update_stop_button": "Stop these messages",
}

ENGAGEMENT = textwrap.dedent("""\
    id: staff-test
    title: Our plan for a good life
    organiser: The test team
    purpose: We are making a plan.
    can_change: Your answers help us choose what goes in the plan.
    cannot_change: We cannot change the law.
    next_steps: We will read every answer. We will share the plan in the summer.
    contact: Call 0300 123 4567.
    consent_version: "1"
    questions:
      - id: good_life
        text: What makes a good life for you?
        text_for_them: What makes a good life for them?
        text_for_supported: What makes a good life for the people you support?
      - id: what_helps
        text: What helps you to have a good life?
        text_for_them: What helps them to have a good life?
    themes:
      - id: being_safe
        name: Being safe
        description: Feeling safe at home and when you go out.
        emoji: "🛡️"
      - id: purpose
        name: Having a purpose
        description: Having things to do that matter to you.
        emoji: "⭐"
      - id: friends
        name: Friends
        description: Having friends and seeing them.
        emoji: "🤝"
      - id: money
        name: Money
        description: Having enough money.
        emoji: "💷"
    """)


def utc(text: str) -> datetime:
    """An aware UTC time from '2025-03-01T10:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# pseudonym, role, channel, wants_updates, telegram chat id (None: no contact)
PARTICIPANTS = [
    ("pseud-alice", "self", "telegram", True, "1001"),
    ("pseud-bob", "on_behalf", "web", True, "1002"),
    ("pseud-cara", "support_worker", "telegram", False, "1003"),
    ("pseud-dan", "self", "telegram", True, None),
    ("pseud-eve", None, "telegram", None, "1005"),
]
# key, pseudonym, question, text, time, flagged, tags (theme, source, score)
ANSWERS = [
    ("a1", "pseud-alice", "good_life", "I like my friends and my job.", "2025-03-01T10:00", False,
     [("purpose", "auto", 0.8), ("friends", "auto", 0.6)]),
    ("a2", "pseud-alice", "what_helps", '=HYPERLINK("http://evil.example","click")',
     "2025-03-02T11:30", False, [("being_safe", "participant", None), ("purpose", "auto", 0.4)]),
    ("a3", "pseud-bob", "good_life", "He feels safe at home.\nHe likes <b>the garden</b> & tea.",
     "2025-03-03T09:15", False, [("being_safe", "auto", 0.9)]),
    ("a4", "pseud-bob", "what_helps", "+44 staff who listen", "2025-03-05T16:45", False, []),
    ("a5", "pseud-cara", "good_life", "@home is where I feel calm", "2025-03-06T08:00", False,
     [("friends", "staff", None)]),
    ("a6", "pseud-cara", "good_life", "- more buses", "2025-03-07T12:00", False,
     [("purpose", "auto", 0.7)]),
    ("a7", "pseud-eve", "good_life", "someone hurts me", "2025-03-07T18:00", True,
     [("being_safe", "auto", 0.95)]),
    ("a8", "pseud-dan", "good_life", "\tTabbed answer with a café ☕", "2025-03-08T10:00", False,
     [("purpose", "participant", None)]),
    ("a9", "pseud-dan", "what_helps", "\r=1+1", "2025-03-09T00:00", False, []),
]
# key, theme, text, status
ACTIONS = [
    ("x1", "being_safe", "We will put more lights on the street.", "planned"),
    ("x2", "purpose", "We will find more day trips.", "doing"),
    ("x3", "friends", "We started a club on Fridays.", "done"),
    ("x4", "money", "We will check that people get the right benefits.", "planned"),
]


@dataclasses.dataclass
class StaffWorld:
    """The known data set: settings, services and the ids of what was made."""

    settings: object
    services: object
    participants: Dict[str, int]
    answers: Dict[str, int]
    actions: Dict[str, int]

    def session(self):
        """A new session on the data set's database."""
        return self.services.sessions()


def build_world(tmp_path: Path, database_url: str, **overrides) -> StaffWorld:
    """Migrate an empty database and fill it with the known data set."""
    from bot.app import build_services
    from bot.store.migrate import upgrade
    from bot.store.models import Answer, AnswerTheme, Contact, Participant, StaffAction

    engagement_file = tmp_path / "engagement.yml"
    engagement_file.write_text(ENGAGEMENT, encoding="utf-8")
    settings = make_settings(tmp_path, database_url=database_url, engagement_file=engagement_file,
                             **overrides)
    upgrade(database_url)
    services = build_services(settings)
    participants, answers, actions = {}, {}, {}
    with services.sessions() as session:
        for pseudonym, role, channel, wants, chat_id in PARTICIPANTS:
            participant = Participant(pseudonym=pseudonym, engagement_id="staff-test",
                                      channel=channel, role=role, wants_updates=wants)
            session.add(participant)
            session.flush()
            participants[pseudonym] = participant.id
            if chat_id:
                session.add(Contact(participant_id=participant.id, channel="telegram",
                                    address=chat_id))
        for key, pseudonym, question, text, when, flagged, tags in ANSWERS:
            role = next(p[1] for p in PARTICIPANTS if p[0] == pseudonym)
            answer = Answer(participant_id=participants[pseudonym], question_id=question,
                            text=text, role=role,
                            channel=next(p[2] for p in PARTICIPANTS if p[0] == pseudonym),
                            channel_message_id=key, flagged=flagged, created_at=utc(when))
            session.add(answer)
            session.flush()
            answers[key] = answer.id
            for theme, source, score in tags:
                session.add(AnswerTheme(answer_id=answer.id, theme_id=theme, source=source,
                                        score=score))
        for key, theme, text, status in ACTIONS:
            action = StaffAction(theme_id=theme, text=text, status=status, revision=1)
            session.add(action)
            session.flush()
            actions[key] = action.id
        session.commit()
    return StaffWorld(settings, services, participants, answers, actions)




# ---- reading back what was written ------------------------------------------------------------
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


@dataclasses.dataclass
class Cell:
    """One XLSX cell as stored: its value, kind (t attribute), formula and quote prefix."""

    value: object
    kind: str
    formula: bool
    quote_prefix: bool


def _column(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference).group(0)
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def read_xlsx(path: Path) -> Dict[str, List[List[Cell]]]:
    """Every sheet of an XLSX file as rows of cells (a small reader: no openpyxl needed)."""
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t"))
                      for si in root.findall("m:si", _NS)]
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        quoted = [xf.get("quotePrefix") == "1"
                  for xf in styles.find("m:cellXfs", _NS).findall("m:xf", _NS)]
        rels = {rel.get("Id"): rel.get("Target") for rel in
                ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels")).iter(_REL)}
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        sheets = {}
        for sheet in workbook.find("m:sheets", _NS):
            target = rels[sheet.get(f"{{{_NS['r']}}}id")]
            root = ElementTree.fromstring(book.read("xl/" + target.lstrip("/").replace("xl/", "")))
            rows = []
            for row in root.iter(f"{{{_NS['m']}}}row"):
                cells: List[Cell] = []
                for cell in row.findall("m:c", _NS):
                    kind = cell.get("t", "n")
                    if kind == "inlineStr":
                        value = "".join(t.text or "" for t in cell.iter(f"{{{_NS['m']}}}t"))
                    elif kind == "s":
                        value = shared[int(cell.find("m:v", _NS).text)]
                    else:
                        raw = cell.find("m:v", _NS)
                        value = None if raw is None else float(raw.text)
                    position = _column(cell.get("r"))
                    while len(cells) < position:
                        cells.append(Cell(None, "", False, False))
                    cells.append(Cell(value, kind, cell.find("m:f", _NS) is not None,
                                      quoted[int(cell.get("s", "0"))]))
                rows.append(cells)
            sheets[sheet.get("name")] = rows
        sheets["_files"] = names
    return sheets


def xlsx_unescape(value: str) -> str:
    """Undo the _xHHHH_ escaping XLSX uses for control characters such as a carriage return."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


class _Html(HTMLParser):
    """Collects tables (by id) and the text of block elements."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "blockquote", "th", "td", "caption", "title",
              "figcaption"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: Dict[str, List[List[str]]] = {}
        self.blocks: List[tuple] = []
        self._table = None
        self._cell = None
        self._stack: List[list] = []
        self.tags: List[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", f"t{len(self.tables)}"), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        if tag in self.BLOCKS:
            self._stack.append([tag, dict(attrs), []])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        if tag in self.BLOCKS and self._stack and self._stack[-1][0] == tag:
            name, attrs, parts = self._stack.pop()
            self.blocks.append((name, attrs, " ".join("".join(parts).split())))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        for entry in self._stack:
            entry[2].append(data)


def parse_html(html: str) -> _Html:
    """The page's tables (id -> rows of cell texts), block texts and tags."""
    parser = _Html()
    parser.feed(html)
    parser.close()
    return parser
