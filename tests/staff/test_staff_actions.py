"""You said, we did: `coproduce actions` and summary_for (only the participant's own themes)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.staff.actions import as_sentence, summary_for
from bot.staff.cli import actions
from bot.store import staff_queries
from bot.store.models import StaffAction

HARD = ("We will endeavour to facilitate comprehensive multidisciplinary consultation "
        "regarding accessibility improvements throughout organisational infrastructure.")


def run(world, *args):
    return CliRunner(mix_stderr=False).invoke(actions, [*args], obj=world.settings,
                                              catch_exceptions=False)


def test_update_with_nothing_to_change_is_a_usage_error(sqlite_world):
    """`actions update 1` alone: one line naming the command and its help, exit code 2."""
    from bot.cli import main

    env = {**sqlite_world.settings.to_env(), "TELEGRAM_BOT_TOKEN": None}
    result = CliRunner(mix_stderr=False).invoke(main, ["actions", "update", "1"], env=env)
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr == ("coproduce actions update: Give --text, --status or both. "
                             "See 'coproduce actions update --help'.\n")
    assert stored(sqlite_world, 1).revision == 1


def stored(world, action_id):
    with world.session() as session:
        return session.get(StaffAction, action_id)


def test_add_list_update(sqlite_world):
    """Add, list and update actions; a real change bumps the revision, no change does not."""
    result = run(sqlite_world, "add", "--theme", "being_safe", "--text",
                 "We will train bus drivers.", "--status", "doing", "--by", "Ann")
    assert result.exit_code == 0
    assert result.stdout == "Added action 5 for being_safe (doing).\n"
    assert result.stderr == ""
    action = stored(sqlite_world, 5)
    assert (action.theme_id, action.text, action.status, action.revision) == \
        ("being_safe", "We will train bus drivers.", "doing", 1)

    listing = run(sqlite_world, "list").stdout.splitlines()
    assert listing[0].split() == ["id", "theme", "status", "rev", "text"]
    assert [line.split()[:4] for line in listing[1:]] == [
        ["1", "being_safe", "planned", "1"], ["5", "being_safe", "doing", "1"],
        ["3", "friends", "done", "1"], ["4", "money", "planned", "1"],
        ["2", "purpose", "doing", "1"]]
    assert listing[2].endswith("We will train bus drivers.")

    assert run(sqlite_world, "update", "5", "--text", "We trained bus drivers.").stdout == \
        "Updated action 5: now revision 2 (doing).\n"
    assert run(sqlite_world, "update", "5", "--status", "done").stdout == \
        "Updated action 5: now revision 3 (done).\n"
    assert run(sqlite_world, "update", "5", "--status", "done", "--text",
               "We trained bus drivers.").stdout == \
        "Nothing changed: action 5 stays at revision 3.\n"
    action = stored(sqlite_world, 5)
    assert (action.text, action.status, action.revision) == ("We trained bus drivers.", "done", 3)
    with sqlite_world.session() as session:
        entries = [(e.actor, e.action, json.loads(e.detail))
                   for e in staff_queries.audit_entries(session)]
    assert entries[0] == ("Ann", "action_add", {"action_id": 5, "theme": "being_safe",
                                                "status": "doing"})
    assert [e[2].get("revision") for e in entries[1:]] == [2, 3]


def test_hard_words_warn_but_are_kept(sqlite_world):
    """Words that fail the plain-language check are stored, with a warning listing the problems."""
    result = run(sqlite_world, "add", "--theme", "money", "--text", HARD)
    assert result.exit_code == 0
    assert result.stdout.startswith("Added action 5")
    assert result.stderr.startswith("Warning: participants may find these words hard to read: ")
    assert "reading ease -92 (needs 80 or more); grade 29.5 (needs 5 or lower)" in result.stderr
    assert stored(sqlite_world, 5).text == HARD
    long = "We will do it " * 4 + "soon."
    result = run(sqlite_world, "update", "1", "--text", long)
    assert result.exit_code == 0
    assert "sentence has 17 words (at most 15)" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["add", "--theme", "nope", "--text", "We will help."],
     "coproduce: Unknown theme id 'nope'. The themes are: being_safe, purpose, friends, money."),
    (["update", "99", "--status", "done"], "coproduce: There is no action with id 99."),
    # The command's own words wrong: a usage error, exit status 2.
    (["add", "--theme", "money", "--text", "   "],
     "coproduce actions add: The action needs some words. See 'coproduce actions add --help'."),
    (["add", "--theme", "money", "--text", "We will help. " * 357 + "Soon."],
     "coproduce actions add: The action's words are too long: 5,003 characters (at most 500). "
     "Say it in a few short sentences. See 'coproduce actions add --help'."),
    (["update", "1", "--text", "x" * 501],
     "coproduce actions update: The action's words are too long: 501 characters (at most "
     "500). Say it in a few short sentences. See 'coproduce actions update --help'."),
])
def test_mistakes_are_one_clear_line(sqlite_world, args, message):
    """A mistake prints one line, exits non-zero (2 for the command's own words) and changes
    nothing."""
    from bot.cli import main

    env = {**sqlite_world.settings.to_env(), "TELEGRAM_BOT_TOKEN": None}
    result = CliRunner(mix_stderr=False).invoke(main, ["actions", *args], env=env)
    assert result.exit_code == (1 if message.startswith("coproduce: ") else 2), result.stderr
    assert result.stderr.splitlines() == [message]
    with sqlite_world.session() as session:
        assert len(session.execute(select(StaffAction)).scalars().all()) == 4
        assert stored(sqlite_world, 1).revision == 1


def test_bad_status_is_refused(sqlite_world):
    result = run(sqlite_world, "add", "--theme", "money", "--text", "Hi.", "--status", "maybe")
    assert result.exit_code == 2
    assert "'maybe' is not one of 'planned', 'doing', 'done'" in result.stderr


def test_summary_shows_only_own_themes(world):
    """Each participant sees their own unflagged answers' themes and only those themes' actions."""
    a = world.actions
    expected = {
        # a person's own tag on a2 (being_safe) replaces the automatic 'purpose' there
        "pseud-alice": (2, ["friends", "purpose", "being_safe"], [a["x3"], a["x2"], a["x1"]]),
        "pseud-bob": (2, ["being_safe"], [a["x1"]]),
        "pseud-cara": (2, ["friends", "purpose"], [a["x3"], a["x2"]]),
        "pseud-dan": (2, ["purpose"], [a["x2"]]),
        # only a flagged answer: counted for them, but never themed
        "pseud-eve": (1, [], []),
    }
    with world.session() as session:
        for pseudonym, (count, themes, action_ids) in expected.items():
            summary = summary_for(session, participant_id=world.participants[pseudonym])
            assert summary.answer_count == count, pseudonym
            assert summary.themes == themes, pseudonym
            assert [action.id for action in summary.actions] == action_ids, pseudonym
        assert summary_for(session, participant_id=12345) == \
            summary_for(session, participant_id=12346)
        assert summary_for(session, participant_id=12345).answer_count == 0


def test_as_sentence():
    assert as_sentence(" We will help ") == "We will help."
    assert as_sentence("Done!") == "Done!"


def test_words_of_the_longest_allowed_length_are_kept(sqlite_world):
    """500 characters (spaces around them do not count) are allowed, for add and for update."""
    words = ("We will help. " * 35 + "Soon.").ljust(500, "!")
    assert len(words) == 500
    assert run(sqlite_world, "add", "--theme", "money", "--text", f"  {words}  ").exit_code == 0
    assert stored(sqlite_world, 5).text == words
    assert run(sqlite_world, "update", "1", "--text", words).exit_code == 0
    assert stored(sqlite_world, 1).text == words


def test_updates_at_the_same_time_each_get_their_own_revision(world):
    """An update that starts while another holds the action waits for it, then builds on it:
    no change is lost, each gets its own revision and the audit log says so."""
    import threading

    from bot.staff.actions import update_action

    first = world.session()
    update_action(first, action_id=1, text="We put up more lights.", actor="Ann")  # not committed

    def second_update():
        with world.session() as session:
            update_action(session, action_id=1, status="done", actor="Bea")
            session.commit()

    second = threading.Thread(target=second_update)
    second.start()
    second.join(timeout=1)
    assert second.is_alive(), "the second update did not wait for the first"
    first.commit()
    first.close()
    second.join(timeout=30)
    assert not second.is_alive()
    action = stored(world, 1)
    assert (action.text, action.status, action.revision) == \
        ("We put up more lights.", "done", 3)
    with world.session() as session:
        entries = [(e.actor, json.loads(e.detail)) for e in
                   staff_queries.audit_entries(session, action="action_update")]
    assert entries == [("Ann", {"action_id": 1, "changed": ["text"], "revision": 2}),
                       ("Bea", {"action_id": 1, "changed": ["status"], "revision": 3})]


def test_six_update_commands_at_once_lose_nothing(world):
    """Six `coproduce actions update` processes started together each report their own revision."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **world.settings.to_env()}
    command = [sys.executable, "-m", "bot.cli", "actions", "update", "1", "--by", "Ann", "--text"]
    runs = [subprocess.Popen([*command, f"We put up {number} more lights."], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for number in range(1, 7)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, outputs
    revisions = sorted(int(out.split("now revision ")[1].split()[0]) for out, _ in outputs)
    assert revisions == [2, 3, 4, 5, 6, 7]
    assert stored(world, 1).revision == 7
    with world.session() as session:
        audited = [json.loads(e.detail)["revision"]
                   for e in staff_queries.audit_entries(session, action="action_update")]
    assert audited == [2, 3, 4, 5, 6, 7]


def test_a_grade_just_over_the_limit_is_not_shown_as_the_limit():
    from bot.readability import check

    result = check("We will hire two more nurses to do autism checks, so you wait less.")
    assert result.grade > 5 and result.problems == ["grade 5.1 (needs 5 or lower)"]
