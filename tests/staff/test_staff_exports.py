"""`coproduce export`: exact contents in CSV, XLSX and JSON, every filter, safe cells, audit."""
from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import sqlite3
import struct
import subprocess
import sys
import termios

import pytest
from click.testing import CliRunner

from bot.staff.cli import export
from bot.store import staff_queries
from bot.store.staff_queries import AnswerFilter
from tests.staff.staff_data import ANSWERS, read_xlsx, utc, xlsx_unescape

Q1 = "What makes a good life for you?"
Q2 = "What helps you to have a good life?"
# Carers (role "on behalf") were asked about the person they care for.
Q1_THEM = "What makes a good life for them?"
Q2_THEM = "What helps them to have a good life?"
# Support workers were asked about the people they support (where the engagement words it so).
Q1_SUPPORTED = "What makes a good life for the people you support?"
# Every answer as exported (before spreadsheet quoting), by key.
ROWS = {
    "a1": ["pseud-alice", "self", "good_life", Q1, "I like my friends and my job.",
           "friends (auto); purpose (auto)", "telegram", "2025-03-01T10:00:00Z"],
    "a2": ["pseud-alice", "self", "what_helps", Q2, '=HYPERLINK("http://evil.example","click")',
           "being_safe (participant); purpose (auto)", "telegram", "2025-03-02T11:30:00Z"],
    "a3": ["pseud-bob", "on behalf", "good_life", Q1_THEM,
           "He feels safe at home.\nHe likes <b>the garden</b> & tea.", "being_safe (auto)", "web",
           "2025-03-03T09:15:00Z"],
    "a4": ["pseud-bob", "on behalf", "what_helps", Q2_THEM, "+44 staff who listen", "", "web",
           "2025-03-05T16:45:00Z"],
    "a5": ["pseud-cara", "support worker", "good_life", Q1_SUPPORTED, "@home is where I feel calm",
           "friends (staff)", "telegram", "2025-03-06T08:00:00Z"],
    "a6": ["pseud-cara", "support worker", "good_life", Q1_SUPPORTED, "- more buses", "purpose (auto)",
           "telegram", "2025-03-07T12:00:00Z"],
    "a7": ["pseud-eve", "not said", "good_life", Q1, "someone hurts me", "being_safe (auto)",
           "telegram", "2025-03-07T18:00:00Z"],
    "a8": ["pseud-dan", "self", "good_life", Q1, "\tTabbed answer with a café ☕",
           "purpose (participant)", "telegram", "2025-03-08T10:00:00Z"],
    "a9": ["pseud-dan", "self", "what_helps", Q2, "\r=1+1", "", "telegram", "2025-03-09T00:00:00Z"],
}
HEADER = ["Participant", "Role", "Question id", "Question", "Answer", "Themes", "Channel",
          "Time (UTC)"]
FLAG_HEADER = "Safeguarding flag"  # the last column, only with --include-flagged
FLAGGED = {"a7"}  # answers under a safeguarding flag
UNSAFE = {"a2", "a4", "a5", "a6", "a8", "a9"}  # answers a spreadsheet could read as formulas
ALL = ["a1", "a2", "a3", "a4", "a5", "a6", "a8", "a9"]

# (command-line filter options, expected answers in order)
FILTERS = [
    ([], ALL),
    (["--include-flagged"], ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"]),
    (["--theme", "being_safe"], ["a2", "a3"]),
    (["--theme", "being_safe", "--include-flagged"], ["a2", "a3", "a7"]),
    # a2's automatic "purpose" is replaced by the participant's own "being_safe"
    (["--theme", "purpose"], ["a1", "a6", "a8"]),
    (["--theme", "friends"], ["a1", "a5"]),
    (["--theme", "money"], []),
    (["--question", "what_helps"], ["a2", "a4", "a9"]),
    (["--since", "2025-03-05"], ["a4", "a5", "a6", "a8", "a9"]),
    (["--until", "2025-03-03"], ["a1", "a2", "a3"]),
    (["--since", "2025-03-02T12:00:00Z", "--until", "2025-03-07T12:00:00Z"],
     ["a3", "a4", "a5", "a6"]),
    (["--since", "2025-03-06T09:00:00+01:00"], ["a5", "a6", "a8", "a9"]),
    (["--theme", "purpose", "--question", "good_life", "--since", "2025-03-02"], ["a6", "a8"]),
    # several of one filter: answers with any of them
    (["--theme", "being_safe", "--theme", "friends"], ["a1", "a2", "a3", "a5"]),
    (["--question", "what_helps", "--question", "good_life"], ALL),
    (["--theme", "money", "--theme", "friends", "--question", "good_life"], ["a1", "a5"]),
]


def run_export(world, *args, by="tester"):
    """Run `coproduce export` in-process; return the click result."""
    return CliRunner(mix_stderr=False).invoke(export, [*args, "--by", by], obj=world.settings,
                                              catch_exceptions=False)


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def safe(key):
    row = list(ROWS[key])
    if key in UNSAFE:
        row[4] = "'" + row[4]
    return row


def with_flag(row, key, options):
    """The row as exported with these options: a flag cell last when flagged ones are included."""
    return row + ["yes" if key in FLAGGED else ""] if "--include-flagged" in options else row


def test_every_filter_in_every_format(world, tmp_path):
    """Each filter gives exactly the expected rows, the same in CSV, XLSX and JSON."""
    for number, (options, keys) in enumerate(FILTERS):
        for fmt in ("csv", "xlsx", "json"):
            out = tmp_path / f"export-{number}.{fmt}"
            result = run_export(world, "--format", fmt, "--out", str(out), *options)
            assert result.exit_code == 0, result.output + result.stderr
            assert result.stdout.splitlines()[0] == f"Exported {len(keys)} answers to {out}."
            flags = "--include-flagged" in options
            header = HEADER + [FLAG_HEADER] if flags else HEADER
            if fmt == "csv":
                assert read_csv(out) == [header] + [with_flag(safe(key), key, options)
                                                    for key in keys], options
            elif fmt == "json":
                assert [_json_as_row(record, flags) for record
                        in json.loads(out.read_text("utf-8"))] \
                    == [with_flag(ROWS[key], key, options) for key in keys], options
            else:
                rows = read_xlsx(out)["Answers"]
                assert [[xlsx_unescape(c.value) for c in row] for row in rows] == \
                    [header] + [with_flag(ROWS[key], key, options) for key in keys], options


def _json_as_row(record, flags=False):
    """A JSON record as a CSV row; with flags, "flagged" (true or false) is its last key."""
    themes = "; ".join(f"{t['theme']} ({t['source']})" for t in record["themes"])
    if not record["themes"] and record["themes_set_by"]:
        themes = f"none ({record['themes_set_by']})"
    assert list(record) == ["participant", "role", "question_id", "question", "answer", "themes",
                            "themes_set_by", "channel", "time"] + (["flagged"] if flags else [])
    assert record["themes_set_by"] in (None, "participant", "staff")
    row = [record["participant"], record["role"], record["question_id"], record["question"],
           record["answer"], themes, record["channel"], record["time"]]
    if flags:
        assert record["flagged"] in (True, False)
        row.append("yes" if record["flagged"] else "")
    return row


def test_csv_file_exactly(sqlite_world, tmp_path):
    """The CSV bytes: a byte order mark, quoted newlines, and a quote before formula-like cells."""
    out = tmp_path / "helps.csv"
    assert run_export(sqlite_world, "--format", "csv", "--out", str(out),
                      "--question", "what_helps").exit_code == 0
    assert out.read_bytes().decode("utf-8") == (
        "\ufeffParticipant,Role,Question id,Question,Answer,Themes,Channel,Time (UTC)\r\n"
        "pseud-alice,self,what_helps,What helps you to have a good life?,"
        "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","
        "being_safe (participant); purpose (auto),telegram,2025-03-02T11:30:00Z\r\n"
        "pseud-bob,on behalf,what_helps,What helps them to have a good life?,"
        "'+44 staff who listen,,web,2025-03-05T16:45:00Z\r\n"
        "pseud-dan,self,what_helps,What helps you to have a good life?,\"'\r=1+1\",,telegram,"
        "2025-03-09T00:00:00Z\r\n")


def test_include_flagged_marks_the_flagged_rows(sqlite_world, tmp_path):
    """With --include-flagged each row says whether its answer is under a safeguarding flag."""
    out = tmp_path / "safe.csv"
    options = ["--theme", "being_safe", "--include-flagged"]
    assert run_export(sqlite_world, "--out", str(out), *options).exit_code == 0
    assert out.read_bytes().decode("utf-8") == (
        "\ufeffParticipant,Role,Question id,Question,Answer,Themes,Channel,Time (UTC),"
        "Safeguarding flag\r\n"
        "pseud-alice,self,what_helps,What helps you to have a good life?,"
        "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","
        "being_safe (participant); purpose (auto),telegram,2025-03-02T11:30:00Z,\r\n"
        "pseud-bob,on behalf,good_life,What makes a good life for them?,"
        "\"He feels safe at home.\nHe likes <b>the garden</b> & tea.\",being_safe (auto),web,"
        "2025-03-03T09:15:00Z,\r\n"
        "pseud-eve,not said,good_life,What makes a good life for you?,someone hurts me,"
        "being_safe (auto),telegram,2025-03-07T18:00:00Z,yes\r\n")
    run_export(sqlite_world, "--out", str(tmp_path / "safe.json"), *options)
    records = json.loads((tmp_path / "safe.json").read_text("utf-8"))
    assert [(record["answer"], record["flagged"]) for record in records] == [
        (ROWS["a2"][4], False), (ROWS["a3"][4], False), ("someone hurts me", True)]
    run_export(sqlite_world, "--out", str(tmp_path / "safe.xlsx"), *options)
    sheet = read_xlsx(tmp_path / "safe.xlsx")["Answers"]
    assert [[cell.value for cell in row][8:] for row in sheet] == [
        [FLAG_HEADER], [""], [""], ["yes"]]


def test_flag_marks_cross_batches(world):
    """Flagged answers at batch edges are marked, and only they (on both databases)."""
    from sqlalchemy import update

    from bot.store.models import Answer
    from bot.store.staff_queries import export_batches

    flagged = {"a1", "a4", "a7", "a8", "a9"}
    with world.session() as session:
        session.execute(update(Answer).where(Answer.id.in_([world.answers[k] for k in flagged]))
                        .values(flagged=True))
        session.commit()
    by_id = {answer_id: key for key, answer_id in world.answers.items()}
    with world.session() as session:
        batches = list(export_batches(session, answer_filter=AnswerFilter(include_flagged=True),
                                      batch_size=2))
        unflagged_only = list(export_batches(session, answer_filter=AnswerFilter(), batch_size=2))
    assert [len(batch) for batch in batches] == [2, 2, 2, 2, 1]
    assert [(by_id[row.answer_id], row.flagged) for batch in batches for row in batch] == [
        (f"a{n}", f"a{n}" in flagged) for n in range(1, 10)]
    assert [(by_id[row.answer_id], row.flagged) for batch in unflagged_only for row in batch] == [
        ("a2", False), ("a3", False), ("a5", False), ("a6", False)]


def test_each_row_shows_the_question_as_that_participant_was_asked_it(sqlite_world, tmp_path):
    """Carers answered the "them" wording, support workers the "people you support" one."""
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"good_life.{fmt}"
        assert run_export(sqlite_world, "--out", str(out), "--question", "good_life").exit_code == 0
        if fmt == "csv":
            rows = read_csv(out)[1:]
        elif fmt == "json":
            rows = [_json_as_row(record) for record in json.loads(out.read_text("utf-8"))]
        else:
            rows = [[xlsx_unescape(c.value) for c in row] for row in read_xlsx(out)["Answers"][1:]]
        asked = {(row[1], row[3]) for row in rows}
        assert asked == {("self", Q1), ("on behalf", Q1_THEM), ("support worker", Q1_SUPPORTED)}, fmt


def test_csv_cells_cannot_run_as_formulas(sqlite_world, tmp_path):
    """No CSV cell starts with =, +, -, @, tab or carriage return."""
    out = tmp_path / "all.csv"
    run_export(sqlite_world, "--out", str(out), "--include-flagged")
    for row in read_csv(out):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    answers = {row[4] for row in read_csv(out)[1:]}
    assert {"'=HYPERLINK(\"http://evil.example\",\"click\")", "'+44 staff who listen",
            "'@home is where I feel calm", "'- more buses", "'\tTabbed answer with a café ☕",
            "'\r=1+1"} <= answers


def test_xlsx_strings_stay_strings(sqlite_world, tmp_path):
    """XLSX cells are inline strings, never formulas; formula-like ones carry a quote prefix."""
    out = tmp_path / "all.xlsx"
    run_export(sqlite_world, "--out", str(out))
    rows = read_xlsx(out)["Answers"]
    for row in rows:
        for cell in row:
            assert cell.kind == "inlineStr" and not cell.formula
    quoted = {(index, column) for index, row in enumerate(rows) for column, cell in enumerate(row)
              if cell.quote_prefix}
    assert quoted == {(ALL.index(key) + 1, 4) for key in UNSAFE}


def test_xlsx_counts_sheet_and_chart(world, tmp_path):
    """The second sheet counts themes by role and by question, with a chart of the first. An
    answer a person said fits none of the themes is not counted as waiting for a theme."""
    from sqlalchemy import update

    from bot.store.models import Answer

    with world.services.sessions.begin() as session:  # Bob pressed "None of these" for a4
        session.execute(update(Answer).where(Answer.id == world.answers["a4"])
                        .values(themes_set_by="participant"))
    out = tmp_path / "all.xlsx"
    run_export(world, "--format", "xlsx", "--out", str(out))
    book = read_xlsx(out)
    assert [name for name in book if name != "_files"] == ["Answers", "Counts"]
    counts = [[cell.value for cell in row] for row in book["Counts"]]
    assert counts[0] == ["Answers in this export: 8"]
    by_role = counts[counts.index(["Answers by theme and role"]) + 1:][:7]
    assert by_role == [
        ["Theme id", "Theme", "self", "on behalf", "support worker", "not said", "Total"],
        ["being_safe", "Being safe", 1, 1, 0, 0, 2],
        ["purpose", "Having a purpose", 2, 0, 1, 0, 3],
        ["friends", "Friends", 1, 0, 1, 0, 2],
        ["money", "Money", 0, 0, 0, 0, 0],
        ["", "(none of the themes: a person said so)", 0, 1, 0, 0, 1],
        ["", "(no theme yet)", 1, 0, 0, 0, 1],
    ]
    by_question = counts[counts.index(["Answers by theme and question"]) + 1:][:7]
    assert by_question == [
        ["Theme id", "Theme", "good_life", "what_helps", "Total"],
        ["being_safe", "Being safe", 1, 1, 2],
        ["purpose", "Having a purpose", 3, 0, 3],
        ["friends", "Friends", 2, 0, 2],
        ["money", "Money", 0, 0, 0],
        ["", "(none of the themes: a person said so)", 0, 1, 1],
        ["", "(no theme yet)", 0, 1, 1],
    ]
    assert "xl/charts/chart1.xml" in book["_files"]


def test_audit_entry_for_each_export(world, tmp_path):
    """Each export is audited with its format, filters and row count, never the answers."""
    out = tmp_path / "safe.json"
    run_export(world, "--out", str(out), "--theme", "being_safe", "--include-flagged",
               "--since", "2025-03-01", "--until", "2025-03-31", by="Sam Staff")
    with world.session() as session:
        entries = staff_queries.audit_entries(session, action="export")
    assert len(entries) == 1
    assert entries[0].actor == "Sam Staff"
    assert json.loads(entries[0].detail) == {
        "format": "json", "file": "safe.json", "rows": 3,
        "filters": {"theme": "being_safe", "question": None, "since": "2025-03-01T00:00:00Z",
                    "until": "2025-03-31T23:59:59Z", "include_flagged": True}}
    for _, _, _, text, *_ in ANSWERS:
        assert text not in entries[0].detail


def test_flagged_export_is_announced_and_by_defaults_to_login(sqlite_world, tmp_path):
    """--include-flagged says so; without --by the audit names the OS user."""
    import getpass

    out = tmp_path / "all.csv"
    result = CliRunner(mix_stderr=False).invoke(
        export, ["--out", str(out), "--include-flagged"], obj=sqlite_world.settings)
    assert result.exit_code == 0
    assert "flagged for safeguarding" in result.stdout
    with sqlite_world.session() as session:
        assert staff_queries.audit_entries(session, action="export")[0].actor == getpass.getuser()


@pytest.mark.parametrize("args, message", [
    (["--theme", "nope"], "coproduce: Unknown theme id 'nope'. The themes are: being_safe, "
                          "purpose, friends, money."),
    (["--question", "nope"], "coproduce: Unknown question id 'nope'. The questions are: "
                             "good_life, what_helps."),
])
def test_user_errors_are_one_line(sqlite_world, tmp_path, args, message):
    """A mistake prints one clear line, exits non-zero, writes no file and no audit entry."""
    out = tmp_path / "x.csv"
    result = CliRunner(mix_stderr=False).invoke(export, ["--out", str(out), *args],
                                                obj=sqlite_world.settings)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message]
    assert not out.exists()
    with sqlite_world.session() as session:
        assert staff_queries.audit_entries(session) == []


EXPORT_HELP = " See 'coproduce export --help'."


@pytest.mark.parametrize("args, message", [
    (["--since", "last week"], "--since must be a date like 2025-03-01 or a time like "
                               "2025-03-01T09:30:00Z, not 'last week'."),
    (["--since", "notadate"], "--since must be a date like 2025-03-01 or a time like "
                              "2025-03-01T09:30:00Z, not 'notadate'."),
    (["--until", "2025-13-01"], "--until must be a date like 2025-03-01 or a time like "
                                "2025-03-01T09:30:00Z, not '2025-13-01'."),
    (["--since", "2025-03-05", "--until", "2025-03-01"],
     "--since is after --until, so nothing would be exported."),
])
def test_argument_mistakes_are_usage_errors(sqlite_world, tmp_path, args, message):
    """A mistake in the command's own arguments is a usage error, as click's own are: one line
    naming the command and its help, exit code 2, no file and no audit entry."""
    out = tmp_path / "x.csv"
    result = typed_export(sqlite_world, "--out", str(out), *args)
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr.splitlines() == [f"coproduce export: {message}{EXPORT_HELP}"]
    assert not out.exists()
    with sqlite_world.session() as session:
        assert staff_queries.audit_entries(session) == []


def typed_export(world, *args):
    """`coproduce export ARGS` through the top-level command group, as staff type it."""
    from bot.cli import main

    env = {**world.settings.to_env(), "TELEGRAM_BOT_TOKEN": None}
    return CliRunner(mix_stderr=False).invoke(main, ["export", *args], env=env)


def test_unknown_extension_needs_format(sqlite_world, tmp_path):
    result = typed_export(sqlite_world, "--out", str(tmp_path / "x.txt"))
    assert result.exit_code == 2
    assert result.stderr.startswith("coproduce export: Choose a format with --format")
    assert result.stderr.endswith(f"{EXPORT_HELP}\n") and len(result.stderr.splitlines()) == 1


def test_paging_crosses_batches(world):
    """Keyset paging in small batches returns every answer once, in order, with its own tags."""
    with world.session() as session:
        batches = list(staff_queries.export_batches(
            session, answer_filter=AnswerFilter(include_flagged=True), batch_size=2))
    assert [len(batch) for batch in batches] == [2, 2, 2, 2, 1]
    rows = [row for batch in batches for row in batch]
    assert [row.answer_id for row in rows] == [world.answers[f"a{n}"] for n in range(1, 10)]
    assert rows[1].tags == (("being_safe", "participant"), ("purpose", "auto"))
    assert rows[1].theme_ids == ["being_safe"]
    assert rows[0].created_at == utc("2025-03-01T10:00")


def test_progress_bar_only_on_a_terminal(sqlite_world, tmp_path):
    """With standard error on a terminal the export shows a tqdm bar there; piped, it does not."""
    script = "import sys; from bot.staff.cli import export; export.main(sys.argv[1:])"
    args = [sys.executable, "-c", script, "--out", str(tmp_path / "a.csv")]
    env = {**os.environ, **sqlite_world.settings.to_env()}
    primary, secondary = pty.openpty()
    # a new pty is 0 columns wide, and tqdm draws nothing in no room
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=secondary, check=True, timeout=60,
                       env=env)
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    assert b"Exporting" in seen
    piped = subprocess.run(args, capture_output=True, check=True, timeout=60, env=env)
    assert b"Exporting" not in piped.stderr


def test_odd_answers_still_export(sqlite_world, tmp_path, caplog):
    """A NUL character and an answer longer than an XLSX cell do not stop an export."""
    from bot.store.models import Answer

    with sqlite_world.session() as session:
        for key, text in (("nul", "before\x00after"), ("long", "word " * 8000)):
            session.add(Answer(participant_id=sqlite_world.participants["pseud-alice"],
                               question_id="good_life", text=text, role="self",
                               channel="telegram", channel_message_id=key,
                               created_at=utc("2025-04-01T10:00")))
        session.commit()
    assert run_export(sqlite_world, "--out", str(tmp_path / "a.csv")).exit_code == 0
    rows = read_csv(tmp_path / "a.csv")
    assert rows[-2][4] == "before\ufffdafter"
    assert rows[-1][4] == "word " * 8000
    assert run_export(sqlite_world, "--out", str(tmp_path / "a.json")).exit_code == 0
    assert json.loads((tmp_path / "a.json").read_text("utf-8"))[-2]["answer"] == "before\x00after"
    assert run_export(sqlite_world, "--out", str(tmp_path / "a.xlsx")).exit_code == 0
    cell = read_xlsx(tmp_path / "a.xlsx")["Answers"][-1][4]
    assert len(cell.value) == 32767
    assert "longer than an XLSX cell can hold" in caplog.text


@pytest.mark.parametrize("out", ["a.csv", "-"])
def test_database_not_ready_is_one_line(tmp_path, out):
    """An empty, unmigrated database gives one clear line, not a traceback; standard output
    gets nothing, not even the CSV header."""
    from sqlalchemy.engine import make_url

    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    database = make_url(settings.database_url).database
    with sqlite3.connect(database) as connection:  # there, but never set up: another app's
        connection.execute("CREATE TABLE notes (words TEXT)")
    if out == "-":  # a real process: what it buffered for standard output is written at exit
        process = subprocess.run(
            [sys.executable, "-m", "bot.cli", "--database-url", settings.database_url, "export",
             "--out", "-", "--format", "csv"], capture_output=True, cwd=tmp_path,
            env={**os.environ, "COPRODUCE_VAR_DIR": str(tmp_path)}, timeout=120)
        assert process.returncode == 1 and process.stdout == b""
        assert process.stderr.decode().startswith("coproduce: The database could not do that")
        return
    result = CliRunner(mix_stderr=False).invoke(export, ["--out", str(tmp_path / out)],
                                                obj=settings)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("coproduce: The database could not do that (no such table")
    assert result.stderr.rstrip().endswith("Run `coproduce db upgrade`.")
    assert not [path for path in tmp_path.iterdir() if "a.csv" in path.name]  # no part file


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_out_dash_writes_to_standard_output(sqlite_world, tmp_path, monkeypatch, fmt):
    """--out - writes the export to standard output (what is said about it to standard error),
    and no file called '-'."""
    monkeypatch.chdir(tmp_path)
    result = run_export(sqlite_world, "--format", fmt, "--out", "-", "--include-flagged")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "Exported 9 answers to standard output.",
        "This export includes answers flagged for safeguarding. Keep it safe."]
    if fmt == "csv":
        assert result.stdout_bytes.startswith("\ufeffParticipant,Role,".encode("utf-8"))
        rows = list(csv.reader(result.stdout_bytes.decode("utf-8-sig").splitlines()))
        assert [row[0] for row in rows[1:]] == [ROWS[key][0] for key in sorted(ROWS)]
    else:
        assert [record["answer"] for record in json.loads(result.stdout_bytes)] == \
            [ROWS[key][4] for key in sorted(ROWS)]
    assert not (tmp_path / "-").exists()
    with sqlite_world.session() as session:
        entry = staff_queries.audit_entries(session, action="export")[0]
    assert json.loads(entry.detail)["file"] == "standard output"


@pytest.mark.parametrize("args, code, message", [
    (["--out", "-", "--format", "xlsx"], 2,
     "coproduce export: Only csv or json can go to standard output (--out -); choose one with "
     "--format, or give --out a file name for an xlsx file." + EXPORT_HELP),
    (["--out", "-"], 2, "coproduce export: Only csv or json can go to standard output (--out -); "
                        "choose one with --format, or give --out a file name." + EXPORT_HELP),
    (["--out", "{tmp}"], 1, "coproduce: Cannot write {tmp}: it is a folder, not an ordinary "
                            "file. Choose a file name for --out."),
    (["--out", "{tmp}/x.csv", "--theme", "nope", "--theme", "being_safe", "--theme", "zip"], 1,
     "coproduce: Unknown theme ids 'nope', 'zip'. The themes are: being_safe, purpose, "
     "friends, money."),
])
def test_where_the_export_cannot_go_is_one_line(sqlite_world, tmp_path, monkeypatch, args, code,
                                                message):
    monkeypatch.chdir(tmp_path)
    result = typed_export(sqlite_world, *[arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert result.exit_code == code, (result.stderr, result.exception)
    assert result.stderr.splitlines() == [message.replace("{tmp}", str(tmp_path))]
    assert result.stdout == "" and not (tmp_path / "-").exists()
    with sqlite_world.session() as session:
        assert staff_queries.audit_entries(session) == []
