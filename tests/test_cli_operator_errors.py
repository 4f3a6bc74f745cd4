"""Operator mistakes with the database (a wrong URL, a server that is down, a file that cannot be
opened, tables not made yet) give one clear line and exit 1 from every command, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.settings import PROJECT_ROOT
from tests.conftest import free_port

DB_COMMANDS = [
    ["db", "upgrade"],
    ["safeguarding", "list"],
    ["actions", "list"],
    ["report", "--out", "{tmp}/report.html"],
    ["purge", "--older-than", "365d", "--dry-run"],
    ["notify", "--dry-run"],
    ["export", "--out", "{tmp}/answers.csv"],
    ["themes", "train", "--model", "{tmp}/tagger.npz"],
]
URL_HELP = "Use sqlite:///path/to/file.db or postgresql://user@host:port/name."


def run(tmp_path, args, database_url=None, options=()):
    """Run `coproduce` in-process with a scratch var/ folder and this database URL."""
    env = {"COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key",
           "COPRODUCE_DATABASE_URL": database_url}
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    return CliRunner(mix_stderr=False).invoke(main, [*options, *args], env=env)


def assert_one_line(result, message):
    """Exit code 1, exactly this one line on standard error, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr == f"coproduce: {message}\n"
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", DB_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("url, message", [
    ("garbage", f"COPRODUCE_DATABASE_URL is not a database address: 'garbage'. {URL_HELP}"),
    ("nonsense://x", "COPRODUCE_DATABASE_URL is not a database address: 'nonsense://x' "
                     f"(unknown kind of database 'nonsense'). {URL_HELP}"),
])
def test_a_wrong_database_url_is_one_clear_line(tmp_path, command, url, message):
    assert_one_line(run(tmp_path, command, url), message)


# The commands that may make a new SQLite database; the others work on stored data.
MAKES_A_DATABASE = (["db", "upgrade"], ["themes", "train", "--model", "{tmp}/tagger.npz"])


@pytest.mark.parametrize("command", DB_COMMANDS, ids=" ".join)
def test_an_sqlite_folder_that_cannot_be_made_is_one_clear_line(tmp_path, command):
    if command in MAKES_A_DATABASE and command[0] == "db":
        message = ("Cannot open the SQLite database file /proc/x/y.db: its folder cannot be made "
                   "(No such file or directory). Check the path, and that you may write there.")
    elif command in MAKES_A_DATABASE:  # training needs no store: it trains on the examples
        assert run(tmp_path, command, "sqlite:////proc/x/y.db").exit_code == 0
        return
    else:
        message = ("There is no database at /proc/x/y.db. Check the address in "
                   "COPRODUCE_DATABASE_URL; `coproduce db upgrade` makes a new database.")
    assert_one_line(run(tmp_path, command, "sqlite:////proc/x/y.db"), message)


@pytest.mark.parametrize("command", [c for c in DB_COMMANDS + [["themes", "list"],
                                                                ["themes", "set", "1", "--none"]]
                                     if c not in MAKES_A_DATABASE], ids=" ".join)
def test_a_mistyped_sqlite_path_makes_nothing(tmp_path, command):
    """A staff command pointed at a file that is not there says so, and leaves no empty database
    (nor its folder) behind."""
    url = f"sqlite:///{tmp_path}/typo/coproduce.db"
    assert_one_line(run(tmp_path, command, url),
                    f"There is no database at {tmp_path}/typo/coproduce.db. Check the address in "
                    "COPRODUCE_DATABASE_URL; `coproduce db upgrade` makes a new database.")
    assert not (tmp_path / "typo").exists()


def test_the_missing_database_message_names_the_option_it_came_from(tmp_path):
    result = run(tmp_path, ["actions", "list"],
                 options=["--database-url", f"sqlite:///{tmp_path}/none.db"])
    assert_one_line(result, f"There is no database at {tmp_path}/none.db. Check the address in "
                            "--database-url; `coproduce db upgrade` makes a new database.")


def test_training_without_a_database_makes_none(tmp_path):
    url = f"sqlite:///{tmp_path}/store/coproduce.db"
    result = run(tmp_path, ["themes", "train", "--model", "{tmp}/tagger.npz"], url)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "0 extra examples" in result.stdout
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("command", DB_COMMANDS, ids=" ".join)
def test_a_database_server_that_is_down_is_one_clear_line_without_the_password(tmp_path, command):
    port = free_port()
    result = run(tmp_path, command, f"postgresql://postgres:secret@127.0.0.1:{port}/nope")
    assert_one_line(result, f"Cannot reach the database at postgresql://postgres:***@127.0.0.1:"
                            f"{port}/nope (connection refused). Is the server running?")
    assert "secret" not in result.stderr


def test_the_message_names_the_option_when_the_url_came_from_it(tmp_path):
    result = run(tmp_path, ["actions", "list"], options=["--database-url", "garbage"])
    assert_one_line(result, f"--database-url is not a database address: 'garbage'. {URL_HELP}")


def test_an_sqlite_file_that_cannot_be_opened_is_one_clear_line(tmp_path):
    result = run(tmp_path, ["db", "upgrade"], "sqlite:////proc/coproduce.db")
    assert_one_line(result, "Cannot open the SQLite database file /proc/coproduce.db. Check that its "
                            "folder exists and that you may write there.")


def test_only_missing_tables_suggest_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    (tmp_path / "empty.db").touch()  # there, but never set up
    result = run(tmp_path, ["safeguarding", "list"], url)
    assert_one_line(result, "The database has no Coproduce tables yet: it was never set up. "
                            "Run `coproduce db upgrade` first.")
    assert run(tmp_path, ["db", "upgrade"], url).exit_code == 0
    assert run(tmp_path, ["safeguarding", "list"], url).exit_code == 0


def test_serve_says_why_the_database_could_not_be_prepared(tmp_path):
    port = free_port()
    result = run(tmp_path, ["serve"], f"postgresql://postgres@127.0.0.1:{port}/nope")
    assert_one_line(result, f"Could not prepare the database. Cannot reach the database at "
                            f"postgresql://postgres@127.0.0.1:{port}/nope (connection refused). "
                            "Is the server running?")


def test_themes_train_stops_and_keeps_the_saved_tagger_when_the_store_is_down(tmp_path):
    saved = tmp_path / "tagger.npz"
    saved.write_bytes(b"the tagger trained yesterday")
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nope"
    result = run(tmp_path, ["themes", "train", "--model", str(saved)], url)
    assert_one_line(result, f"Cannot reach the database at {url} (connection refused). "
                            "Is the server running?")
    assert "Training" not in result.stdout
    assert saved.read_bytes() == b"the tagger trained yesterday"


def test_the_assistant_trains_on_when_the_store_is_down_but_the_cli_does_not(tmp_path):
    """The action server's load path only warns (a running assistant must not stop)."""
    from sqlalchemy.exc import OperationalError

    from bot.app import build_services
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    services = build_services(settings)
    try:
        assert services.tagging.confirmed_for_training() == []
        with pytest.raises(OperationalError):
            services.tagging.confirmed_for_training(strict=True)
    finally:
        services.engine.dispose()


@pytest.mark.parametrize("args, message", [
    (["safeguarding", "resolve", "999", "--by", "Jo", "--action", "record", "--note", "n"],
     "There is no safeguarding alert 999."),
    (["safeguarding", "erase", "999", "--by", "Jo", "--note", "n"],
     "There is no safeguarding alert 999."),
    (["themes", "eval", "--data", "{tmp}/missing.jsonl"],
     "Cannot read {tmp}/missing.jsonl: No such file or directory"),
    (["audio", "say", ""], None),  # its own words; only the prefix is checked
])
def test_every_command_group_starts_its_errors_the_same_way(tmp_path, args, message):
    url = f"sqlite:///{tmp_path}/store.db"
    assert run(tmp_path, ["db", "upgrade"], url).exit_code == 0
    result = run(tmp_path, args, url)
    if message is None:
        assert result.exit_code == 1 and result.stderr.startswith("coproduce: ")
        assert len(result.stderr.splitlines()) == 1 and "Error:" not in result.stderr
    else:
        assert_one_line(result, message.replace("{tmp}", str(tmp_path)))


ID_COMMANDS = [
    (["actions", "update", "{id}", "--status", "done"], "There is no action with id {id}."),
    (["themes", "set", "{id}", "--theme", "purpose"], "There is no answer with id {id}."),
    (["safeguarding", "resolve", "{id}", "--by", "Jo", "--action", "record", "--note", "n"],
     "There is no safeguarding alert {id}."),
    (["safeguarding", "erase", "{id}", "--by", "Jo", "--note", "n"],
     "There is no safeguarding alert {id}."),
]


@pytest.mark.parametrize("command, missing", ID_COMMANDS,
                         ids=[" ".join(command[:2]) for command, _ in ID_COMMANDS])
def test_an_id_too_big_for_the_database_is_refused_clearly(tmp_path, database_url, command,
                                                           missing):
    """Every id is 1 to 2**63-1 (click's range error outside it, not an OverflowError); the
    largest is looked up and not found."""
    assert run(tmp_path, ["db", "upgrade"], database_url).exit_code == 0
    for wrong in ("99999999999999999999", str(2**63), "0"):
        result = run(tmp_path, [arg.replace("{id}", wrong) for arg in command], database_url)
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert f"'{wrong}' is not an id: ids are whole numbers from 1, such as 12." in result.stderr
        assert "Traceback" not in result.stderr
    largest = str(2**63 - 1)
    assert_one_line(run(tmp_path, [arg.replace("{id}", largest) for arg in command], database_url),
                    missing.replace("{id}", largest))


@pytest.mark.parametrize("variable, value, message", [
    ("COPRODUCE_RETENTION_DAYS", "abc", "must be a whole number of days, not 'abc'."),
    ("COPRODUCE_RASA_PORT", "50o5", "must be a whole number, not '50o5'."),
    ("COPRODUCE_ACTION_PORT", "x", "must be a whole number, not 'x'."),
    ("COPRODUCE_WEB_PORT", "8000.5", "must be a whole number, not '8000.5'."),
    ("COPRODUCE_SMTP_PORT", "smtp", "must be a whole number, not 'smtp'."),
    ("COPRODUCE_GTTS_TIMEOUT", "two", "must be a number of seconds, not 'two'."),
    ("COPRODUCE_TTS_BREAKER_SECONDS", "inf", "must be a number of seconds, not 'inf'."),
])
def test_a_setting_that_is_not_a_number_is_named(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    result = run(tmp_path, ["purge", "--dry-run"], f"sqlite:///{tmp_path}/store.db")
    assert_one_line(result, f"Bad setting: {variable} {message}")


def test_only_known_log_levels_are_accepted(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    for options in (["--log-level", "LOUD"], ["--log-level", ""]):
        result = run(tmp_path, ["db", "upgrade"], url, options=options)
        assert result.exit_code == 2 and "Invalid value for '--log-level'" in result.stderr
        assert "is not one of 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'" in result.stderr
    assert run(tmp_path, ["db", "upgrade"], url, options=["--log-level", "error"]).exit_code == 0


RESOLVE = ["safeguarding", "resolve", "1", "--by", "Jo", "--action", "record", "--note", "n"]
USAGE_MISTAKES = [
    (["safeguarding", "resolve", "abc", "--by", "x", "--action", "report", "--note", "n"],
     "coproduce safeguarding resolve",
     "Invalid value for 'ALERT_ID': 'abc' is not an id: ids are whole numbers from 1, such as "
     "12 (the list commands show them)."),
    (RESOLVE[:6] + ["destroy", "--note", "n"], "coproduce safeguarding resolve",
     "Invalid value for '--action': 'destroy' is not one of 'reassure', 'report', 'record', "
     "'dismiss'."),
    (RESOLVE[:3] + ["--by", "n", "--note", "n"], "coproduce safeguarding resolve",
     "Missing option '--action'. Choose from: reassure, report, record, dismiss."),
    (RESOLVE[:3] + ["--by", ""] + RESOLVE[5:], "coproduce safeguarding resolve",
     "Invalid value for '--by': give a name; it cannot be blank."),
    (RESOLVE[:-1] + [""], "coproduce safeguarding resolve",
     "Invalid value for '--note': say what was done or why; it cannot be blank."),
    (RESOLVE[:6], "coproduce safeguarding resolve", "Option '--action' requires an argument."),
    (["actions", "add", "--status", "finished"], "coproduce actions add",
     "Invalid value for '--status': 'finished' is not one of 'planned', 'doing', 'done'."),
    (["export", "--format", "pdf"], "coproduce export",
     "Invalid value for '--format': 'pdf' is not one of 'csv', 'xlsx', 'json'."),
    (["themes", "list", "--limit", "-1"], "coproduce themes list",
     "Invalid value for '--limit': -1 is not in the range 1<=x<=100000."),
    (["themes", "set"], "coproduce themes set", "Missing argument 'ANSWER_ID'."),
    (["safeguarding", "check", "--phrases", "missing.yml"], "coproduce safeguarding check",
     "Invalid value for '--phrases': File 'missing.yml' does not exist."),
    (["safeguarding", "list", "--alll"], "coproduce safeguarding list",
     "No such option: --alll. Did you mean --all?"),
    (["db", "upgrade", "now"], "coproduce db upgrade", "Got unexpected extra argument (now)."),
    (["bogus"], "coproduce", "No such command 'bogus'."),
    (["safeguarding", "bogus", "--x"], "coproduce safeguarding", "No such command 'bogus'."),
    (["--bogus", "db", "upgrade"], "coproduce", "No such option: --bogus."),
    (["--log-level"], "coproduce", "Option '--log-level' requires an argument."),
]


@pytest.mark.parametrize("args, command, message", USAGE_MISTAKES,
                         ids=[" ".join(args) for args, _, _ in USAGE_MISTAKES])
def test_a_usage_mistake_is_one_line_naming_the_command_and_its_help(tmp_path, args, command,
                                                                     message):
    """Every command's wrong, missing or unknown argument, option or command: one line on
    standard error (not click's Usage / Try / blank / Error), exit code 2, nothing written."""
    url = f"sqlite:///{tmp_path}/store.db"
    result = run(tmp_path, args, url)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert result.stderr == f"{command}: {message} See '{command} --help'.\n"
    assert result.stdout == ""
    assert not (tmp_path / "store.db").exists()  # refused before any work


def test_a_usage_mistake_is_one_line_from_the_installed_command_too(tmp_path):
    """The real program (not the test runner): one line on standard error, exit code 2."""
    env = {**os.environ, "COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "export", "--format", "pdf"],
                            capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("coproduce export: Invalid value for '--format': 'pdf' is not one "
                             "of 'csv', 'xlsx', 'json'. See 'coproduce export --help'.\n")


@pytest.mark.parametrize("args", [["--help"], ["actions", "list"]])
def test_output_that_cannot_be_written_is_one_line_not_a_trace(tmp_path, args):
    """Standard output on a full disk (/dev/full): one line on standard error, exit code 1."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    from bot.store.migrate import upgrade

    upgrade(f"sqlite:///{tmp_path}/coproduce.db")  # so `actions list` has something to print
    env = {**os.environ, "COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key"}
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "bot.cli", *args], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=PROJECT_ROOT)
    assert result.returncode == 1, result.stderr
    assert result.stderr == "coproduce: could not write the output: No space left on device.\n"


@pytest.mark.parametrize("args", [["--help"], ["safeguarding", "resolve", "--help"],
                                  ["themes", "--help"], []],
                         ids=["coproduce --help", "resolve --help", "themes --help", "coproduce"])
def test_help_is_unchanged(tmp_path, args):
    """--help (and `coproduce` alone) still prints click's help on standard output."""
    result = run(tmp_path, args)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: main ") and "Options:" in result.stdout
