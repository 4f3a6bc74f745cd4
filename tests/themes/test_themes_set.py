"""`coproduce themes set`: staff set an answer's themes by hand, and the tagger keeps off them."""
from __future__ import annotations

import json
from datetime import timezone

import pytest
from click.testing import CliRunner

from bot.store import staff_queries, theme_queries
from bot.store.models import Answer
from tests.staff.staff_data import build_world

THEMES = "being_safe, purpose, friends, money"
FLAGGED = ("Answer {a7} is flagged for safeguarding: it is kept out of themes until the "
           "safeguarding lead resolves its alert (`coproduce safeguarding list`).")


@pytest.fixture
def world(tmp_path, database_url):
    """The staff tests' known answers, on SQLite and on PostgreSQL in turn."""
    built = build_world(tmp_path, database_url)
    yield built
    built.services.engine.dispose()


def set_themes(world, *args):
    """Run `coproduce themes set ARGS` on the world's store and engagement."""
    from bot.cli import main

    return CliRunner(mix_stderr=False).invoke(
        main, ["--database-url", world.settings.database_url,
               "--engagement", str(world.settings.engagement_file), "themes", "set", *args],
        env={"COPRODUCE_VAR_DIR": str(world.settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"})


def tags(world, key):
    """(theme, source) on one answer, and who set its themes by hand."""
    with world.session() as session:
        answer_id = world.answers[key]
        return ([(tag.theme_id, tag.source) for tag in theme_queries.tags_of(session, answer_id=answer_id)],
                session.get(Answer, answer_id).themes_set_by)


def test_staff_set_themes_and_the_tagger_keeps_off_them(world):
    answer_id = world.answers["a1"]  # tagged by the tagger: purpose and friends
    result = set_themes(world, str(answer_id), "--theme", "money", "--theme", "friends",
                        "--theme", "money", "--by", "Ann")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout == (f"Answer {answer_id} now has these themes, set by staff: Money (money), "
                             "Friends (friends). The tagger will not change them.\n")
    assert tags(world, "a1") == ([("money", "staff"), ("friends", "staff")], "staff")
    with world.session() as session:
        assert answer_id not in [answer.id for answer in theme_queries.answers_to_tag(session)]
        entry = staff_queries.audit_entries(session, action="themes_set")[-1]
        assert (entry.actor, json.loads(entry.detail)) == \
            ("Ann", {"answer_id": answer_id, "themes": ["money", "friends"]})


def test_staff_can_say_an_answer_has_none_of_the_themes(world):
    answer_id = world.answers["a3"]
    result = set_themes(world, str(answer_id), "--none")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout == (f"Answer {answer_id} now has none of the themes, set by staff. "
                             "The tagger will not change that.\n")
    assert tags(world, "a3") == ([], "staff")
    one = set_themes(world, str(answer_id), "--theme", "purpose")
    assert one.stdout == (f"Answer {answer_id} now has the theme, set by staff: Having a purpose "
                          "(purpose). The tagger will not change it.\n")
    assert tags(world, "a3") == ([("purpose", "staff")], "staff")


USAGE = "coproduce themes set: {} See 'coproduce themes set --help'."  # exit code 2


@pytest.mark.parametrize("args, said", [
    (["99999", "--theme", "money"], "coproduce: There is no answer with id 99999."),
    (["{a2}", "--theme", "nope", "--theme", "money", "--theme", "Money"],
     f"coproduce: Unknown theme ids 'nope', 'Money'. The themes are: {THEMES}."),
    (["{a2}", "--theme", "nope"], f"coproduce: Unknown theme id 'nope'. The themes are: {THEMES}."),
    (["{a7}", "--theme", "money"], f"coproduce: {FLAGGED}"),
    (["{a7}", "--none"], f"coproduce: {FLAGGED}"),
    # options that do not go together, or none given: a usage error
    (["{a2}", "--theme", "money", "--none"], USAGE.format("Give either --theme or --none, not both.")),
    (["{a2}"], USAGE.format("Give the answer's themes with --theme ID (once for each theme), or "
                            "--none if none of the themes fit.")),
])
def test_mistakes_are_one_clear_line_and_change_nothing(world, args, said):
    before = {key: tags(world, key) for key in ("a2", "a7")}
    result = set_themes(world, *[arg.format(**world.answers) for arg in args])
    assert result.exit_code == (2 if said.startswith("coproduce themes set:") else 1), \
        (result.stdout, result.exception)
    assert result.stderr == said.format(**world.answers) + "\n"
    assert result.stdout == ""
    assert {key: tags(world, key) for key in ("a2", "a7")} == before
    with world.session() as session:
        assert staff_queries.audit_entries(session, action="themes_set") == []


def list_answers(world, *args):
    from bot.cli import main

    return CliRunner(mix_stderr=False).invoke(
        main, ["--database-url", world.settings.database_url,
               "--engagement", str(world.settings.engagement_file), "themes", "list", *args],
        env={"COPRODUCE_VAR_DIR": str(world.settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"})


def listed(result):
    assert result.exit_code == 0, (result.stderr, result.exception)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_staff_list_answers_with_their_ids_to_set_themes(world):
    ids = world.answers
    everything = listed(list_answers(world, "--json"))
    # Flagged answers (a7) are left out; oldest first; each with its themes and their source.
    assert [row["answer_id"] for row in everything] == \
        [ids[key] for key in ("a1", "a2", "a3", "a4", "a5", "a6", "a8", "a9")]
    assert everything[0] == {"answer_id": ids["a1"], "question_id": "good_life",
                             "themes": [{"theme": "purpose", "source": "auto"},
                                        {"theme": "friends", "source": "auto"}],
                             "themes_set_by": None, "text": "I like my friends and my job."}
    auto = [row["answer_id"] for row in listed(list_answers(world, "--set-by", "auto", "--json"))]
    assert auto == [ids[key] for key in ("a1", "a3", "a4", "a6", "a9")]
    assert [row["answer_id"] for row in listed(list_answers(
        world, "--theme", "purpose", "--question", "good_life", "--json"))] == \
        [ids["a1"], ids["a6"], ids["a8"]]
    two = list_answers(world, "--limit", "2", "--json")
    assert len(listed(two)) == 2
    assert two.stderr == ("These are the oldest 2 answers; there are more. Use --limit to see "
                          "more (for example --limit 4).\n")
    assert list_answers(world, "--limit", "1", "--json").stderr.startswith(
        "This is the oldest answer; there are more.")
    assert list_answers(world, "--limit", "8").stderr == ""  # all of them: nothing to say
    # The id a staff member reads is the one `themes set` takes.
    text = list_answers(world, "--set-by", "auto", "--limit", "1")
    assert text.stdout == f"{ids['a1']:>6}  good_life  [purpose (auto), friends (auto)]  " \
                          "I like my friends and my job.\n"
    assert set_themes(world, str(ids["a1"]), "--theme", "money").exit_code == 0
    staff = listed(list_answers(world, "--set-by", "staff", "--json"))
    assert [row["answer_id"] for row in staff] == [ids["a1"], ids["a5"]]
    assert staff[0]["themes"] == [{"theme": "money", "source": "staff"}]
    # Themes are listed in the engagement's order, whatever order they were set in.
    assert set_themes(world, str(ids["a1"]), "--theme", "money", "--theme", "being_safe",
                      "--theme", "friends").exit_code == 0
    first = listed(list_answers(world, "--set-by", "staff", "--json"))[0]
    assert [tag["theme"] for tag in first["themes"]] == ["being_safe", "friends", "money"]


@pytest.mark.parametrize("args, message", [
    (["--theme", "nope"], f"Unknown theme id 'nope'. The themes are: {THEMES}."),
    (["--question", "nope"], "Unknown question id 'nope'. The questions are: good_life, what_helps."),
])
def test_listing_with_a_wrong_id_is_one_clear_line(world, args, message):
    result = list_answers(world, *args)
    assert result.exit_code == 1 and result.stderr == f"coproduce: {message}\n"


@pytest.mark.parametrize("by, message", [
    ("   ", "give a name; it cannot be blank."),
    ("x" * 300, "at most 100 characters (300 given)."),
])
def test_who_did_it_must_fit_the_audit_log(world, by, message):
    before = tags(world, "a2")
    result = set_themes(world, str(world.answers["a2"]), "--theme", "money", "--by", by)
    assert result.exit_code == 2 and f"Invalid value for '--by': {message}" in result.stderr
    assert tags(world, "a2") == before
    # The same check for every command that writes who did it.
    from bot.cli import main

    for command in (["actions", "add", "--theme", "money", "--text", "We will help."],
                    ["safeguarding", "resolve", "1", "--action", "record", "--note", "ok"],
                    ["purge", "--older-than", "30d", "--dry-run"]):
        other = CliRunner(mix_stderr=False).invoke(
            main, ["--database-url", world.settings.database_url, *command, "--by", by],
            env={"COPRODUCE_VAR_DIR": str(world.settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"})
        assert other.exit_code == 2 and message in other.stderr, (command, other.stderr)


def test_themes_and_their_audit_entry_are_stored_together_or_not_at_all(world):
    """The staff tags and the audit line are one transaction: when the audit line cannot be
    written (here: no actor, which the audit log refuses), the answer's themes stay as they were."""
    from sqlalchemy.exc import IntegrityError

    before = tags(world, "a2")
    with pytest.raises(IntegrityError):
        world.services.tagging.set_by_staff(world.answers["a2"], ["money"], actor=None)
    assert tags(world, "a2") == before
    with world.session() as session:
        assert staff_queries.audit_entries(session, action="themes_set") == []
    world.services.tagging.set_by_staff(world.answers["a2"], ["money"], actor="Ann")
    assert tags(world, "a2") == ([("money", "staff")], "staff")


def raise_alert(world, key):
    """An open safeguarding alert on one of the world's answers; its id."""
    from bot.store import safeguarding_queries

    with world.services.sessions.begin() as session:
        answer = session.get(Answer, world.answers[key])
        return safeguarding_queries.add_alert(
            session, participant_id=answer.participant_id, answer_id=answer.id, text=answer.text,
            channel="web", role="self", score=0.9, categories=["abuse"],
            immediate_danger=False).id


def test_a_flagged_answer_says_whether_its_alert_is_open_or_was_resolved(world):
    """While the alert is open, the answer waits for the lead; once the lead resolved it without
    dismissing it (record, report, reassure), the answer stays out of themes, and the refusal
    says so, with who decided what and when, not that it waits for a decision made already."""
    from bot.store.models import SafeguardingAlert

    answer_id, before = world.answers["a7"], tags(world, "a7")
    alert_id = raise_alert(world, "a7")
    waiting = set_themes(world, str(answer_id), "--theme", "being_safe")
    assert waiting.exit_code == 1
    assert waiting.stderr == f"coproduce: {FLAGGED.format(**world.answers)}\n"
    world.services.alerts.resolve(alert_id, by="Jo Lead", action="record", note="Told the team")
    with world.session() as session:
        decided = session.get(SafeguardingAlert, alert_id).resolved_at
    when = decided.replace(tzinfo=None) if decided.utcoffset() is None else \
        decided.astimezone(timezone.utc)
    result = set_themes(world, str(answer_id), "--theme", "being_safe", "--by", "Ann")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        f"coproduce: Answer {answer_id} is flagged for safeguarding: the safeguarding lead "
        f"resolved its alert {alert_id} on {when:%Y-%m-%d %H:%M} UTC (record by Jo Lead) without "
        "dismissing it as a false alarm, so it stays out of themes (`coproduce safeguarding list "
        "--all`).\n")
    assert "until" not in result.stderr
    assert tags(world, "a7") == before
    with world.session() as session:
        assert session.get(Answer, answer_id).flagged
        assert staff_queries.audit_entries(session, action="themes_set") == []


def test_a_dismissed_alert_lets_staff_set_the_answers_themes(world):
    """A false alarm puts the answer back with the others: staff can set its themes."""
    alert_id = raise_alert(world, "a7")
    world.services.alerts.resolve(alert_id, by="Jo Lead", action="dismiss", note="A film plot")
    result = set_themes(world, str(world.answers["a7"]), "--theme", "being_safe", "--by", "Ann")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert tags(world, "a7") == ([("being_safe", "staff")], "staff")
