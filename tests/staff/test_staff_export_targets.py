"""`coproduce export --out` over things that are not ordinary files: folders and pipes are
refused untouched, a symbolic link is followed, and no part file is ever left behind."""
from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.staff.exports import export_answers
from bot.staff.files import ExportTargetError
from bot.store import staff_queries
from bot.store.staff_queries import AnswerFilter

HEADER_LINE = "\ufeffParticipant,Role,Question id,Question,Answer,Themes,Channel,Time (UTC)\r\n"


def run_coproduce(world, *args):
    """Run `coproduce export` through the top-level command group, settings from the environment."""
    env = {**world.settings.to_env(), "TELEGRAM_BOT_TOKEN": None}
    return CliRunner(mix_stderr=False).invoke(main, ["export", *args, "--by", "tester"], env=env)


def listing(folder):
    """Every name in the folder with its kind of file, e.g. {'a.csv': 'file'}."""
    kinds = {}
    for entry in os.scandir(folder):
        mode = entry.stat(follow_symlinks=False).st_mode
        kinds[entry.name] = ("link" if stat.S_ISLNK(mode) else "fifo" if stat.S_ISFIFO(mode)
                             else "folder" if stat.S_ISDIR(mode) else "file")
    return kinds


def no_audit(world):
    with world.session() as session:
        return staff_queries.audit_entries(session) == []


@pytest.fixture
def out_folder(tmp_path):
    """An empty folder for --out paths, apart from the test database in tmp_path."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("make, name, kind", [
    (os.mkfifo, "answers.csv", "a named pipe"),
    (os.mkdir, "answers.csv", "a folder"),
])
def test_out_that_is_not_an_ordinary_file_is_refused(sqlite_world, out_folder, make, name,
                                                     kind):
    """A pipe or folder at --out: one line, exit 1, left as it was, no part file, no audit."""
    out = out_folder / name
    make(out)
    before = listing(out_folder)
    result = run_coproduce(sqlite_world, "--format", "csv", "--out", str(out))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr == (f"coproduce: Cannot write {out}: it is {kind}, not an ordinary "
                             "file. Choose a file name for --out.\n")
    assert result.stdout == ""
    assert listing(out_folder) == before
    if kind == "a folder":
        assert os.listdir(out) == []
    assert no_audit(sqlite_world)


def test_link_to_a_pipe_is_refused(sqlite_world, out_folder):
    """A symbolic link is followed; a link to a pipe is refused and neither is changed."""
    pipe = out_folder / "pipe"
    os.mkfifo(pipe)
    link = out_folder / "answers.csv"
    link.symlink_to(pipe)
    result = run_coproduce(sqlite_world, "--out", str(link))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"coproduce: Cannot write {link}: it is a named pipe, not an ordinary file. "
        "Choose a file name for --out."]
    assert listing(out_folder) == {"pipe": "fifo", "answers.csv": "link"}
    assert os.readlink(link) == str(pipe)
    assert no_audit(sqlite_world)


def test_a_link_writes_the_file_it_points_to(sqlite_world, out_folder):
    """The link stays a link; the file it points to gets the export, written beside itself."""
    real_folder = out_folder / "real"
    real_folder.mkdir()
    target = real_folder / "answers.csv"
    target.write_text("old contents\n", encoding="utf-8")
    link = out_folder / "latest.csv"
    link.symlink_to(os.path.join("real", "answers.csv"))  # a relative link
    result = run_coproduce(sqlite_world, "--out", str(link), "--question", "what_helps")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Exported 3 answers to {link}.\n"
    assert os.readlink(link) == os.path.join("real", "answers.csv")
    contents = target.read_bytes().decode("utf-8")
    assert contents.startswith(HEADER_LINE) and contents.count("\r\n") == 4
    assert link.read_bytes() == target.read_bytes()
    assert listing(out_folder) == {"real": "folder", "latest.csv": "link"}
    assert listing(real_folder) == {"answers.csv": "file"}


def test_a_dangling_link_makes_the_file_it_points_to(sqlite_world, out_folder):
    link = out_folder / "latest.json"
    target = out_folder / "made.json"
    link.symlink_to(target)
    result = run_coproduce(sqlite_world, "--out", str(link))
    assert result.exit_code == 0, result.stderr
    assert target.read_text("utf-8").startswith("[\n{")
    assert listing(out_folder) == {"latest.json": "link", "made.json": "file"}


def test_an_ordinary_file_is_still_overwritten(sqlite_world, out_folder):
    out = out_folder / "answers.csv"
    out.write_text("last week's export\n", encoding="utf-8")
    result = run_coproduce(sqlite_world, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().decode("utf-8").startswith(HEADER_LINE)
    assert listing(out_folder) == {"answers.csv": "file"}


def test_a_failed_export_leaves_no_part_file(sqlite_world, out_folder):
    """Stopped half way (Ctrl-C), the export removes its part file and keeps the old one."""
    out = out_folder / "answers.csv"
    out.write_text("last week's export\n", encoding="utf-8")

    def interrupt(rows):
        assert listing(out_folder) != {"answers.csv": "file"}  # the part file is there now
        raise KeyboardInterrupt

    with sqlite_world.session() as session, pytest.raises(KeyboardInterrupt):
        export_answers(session, sqlite_world.services.engagement, fmt="csv", out=out,
                       answer_filter=AnswerFilter(), actor="tester", progress=interrupt)
    assert listing(out_folder) == {"answers.csv": "file"}
    assert out.read_text("utf-8") == "last week's export\n"


def test_out_that_becomes_a_pipe_during_the_export_is_left_alone(sqlite_world, out_folder):
    """If --out turns into a pipe while the answers are read, it is not replaced."""
    out = out_folder / "answers.xlsx"

    def swap_in_a_pipe(rows):
        if not out.exists():
            os.mkfifo(out)

    with sqlite_world.session() as session, pytest.raises(ExportTargetError):
        export_answers(session, sqlite_world.services.engagement, fmt="xlsx", out=out,
                       answer_filter=AnswerFilter(), actor="tester", progress=swap_in_a_pipe)
    assert listing(out_folder) == {"answers.xlsx": "fifo"}


@pytest.mark.parametrize("fmt, name", [("csv", "answers.xlsx"), ("json", "answers.csv"),
                                       ("xlsx", "answers.json")])
def test_a_format_that_is_not_the_file_s_ending_is_refused(sqlite_world, out_folder, fmt, name):
    """CSV written into answers.xlsx would not open in a spreadsheet: a usage error, nothing
    written."""
    result = run_coproduce(sqlite_world, "--format", fmt, "--out", str(out_folder / name))
    assert result.exit_code == 2
    ending = name.rsplit(".", 1)[1]
    assert f"--out {name} ends in .{ending}, but --format is {fmt}" in result.stderr
    assert listing(out_folder) == {} and no_audit(sqlite_world)
    # Another ending (or none) with --format is the operator's choice.
    done = run_coproduce(sqlite_world, "--format", fmt, "--out", str(out_folder / "answers.txt"))
    assert done.exit_code == 0, done.stderr
