"""CLI tests: `safeguarding check` round trip and one-line errors for bad input."""
import json
import re
import subprocess
import sys
from datetime import timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cli import main
from bot.safeguarding.cli import safeguarding
from bot.store import safeguarding_queries
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry, SafeguardingAlert

PROJECT = Path(__file__).resolve().parents[2]


def run_check(stdin: str, *args):
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(safeguarding, ["check", *args], input=stdin)


def test_round_trip_keeps_fields_and_adds_disclosure_and_score():
    lines = [
        {"text": "sum1 hits me", "id": 1, "who": "self"},
        {"text": "I feel safe at home", "id": 2, "nested": {"a": [1, 2]}},
        {"text": "😊", "id": 3},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    result = run_check(stdin)
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in out] == [1, 2, 3]
    assert out[0]["who"] == "self" and out[1]["nested"] == {"a": [1, 2]}
    assert [line["disclosure"] for line in out] == [True, False, False]
    assert all(0.0 <= line["score"] <= 1.0 for line in out)
    assert set(out[0]) == {"text", "id", "who", "disclosure", "score"}


def test_details_and_intent_confidence():
    """NLU's confidence strengthens a weak sign ("he shouts a lot" alone is not flagged) but
    never flags on its own: it read "I have a boyfriend. He makes me happy." as harm."""
    lines = [{"text": "hello", "intent_confidence": 0.95},
             {"text": "he shouts a lot"}, {"text": "he shouts a lot", "intent_confidence": 0.95},
             {"text": "he's outside now"}]
    result = run_check("".join(json.dumps(line) + "\n" for line in lines), "--details")
    assert result.exit_code == 0, result.stderr
    hello, weak, weak_and_nlu, outside = [json.loads(line) for line in result.stdout.splitlines()]
    assert hello["disclosure"] is False and weak["disclosure"] is False
    assert weak_and_nlu["disclosure"] is True
    assert outside["immediate_danger"] is True and outside["matched"] == ["he is outside now"]


@pytest.mark.parametrize(
    "stdin, message",
    [
        ('{"text": "ok"}\nnot json\n', "line 2: not valid JSON"),
        ('{"words": "ok"}\n', 'line 1: has no "text" field'),
        ('{"text": 5}\n', 'line 1: has a non-string "text" field'),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ('{"text": "ok", "intent_confidence": "high"}\n', "intent_confidence"),
    ],
)
def test_bad_lines_give_one_error_line_and_no_output(stdin, message):
    result = run_check(stdin)
    assert result.exit_code != 0
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_phrase_file_is_one_error_line(tmp_path):
    broken = tmp_path / "phrases.yml"
    broken.write_text("categories: [\n")
    result = run_check('{"text": "ok"}\n', "--phrases", str(broken))
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot read safeguarding phrases" in result.stderr


def test_real_process_round_trip_and_binary_garbage():
    command = [sys.executable, "-m", "bot.safeguarding.cli", "check"]
    good = subprocess.run(command, input=b'{"text": "i wanna die"}\n', capture_output=True, cwd=PROJECT)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["disclosure"] is True
    bad = subprocess.run(command, input=b"\xff\xfe\x00\n", capture_output=True, cwd=PROJECT)
    assert bad.returncode != 0
    assert bad.stderr.decode().strip() == "Error: line 1: not UTF-8 text"


def test_group_is_extensible():
    assert "check" in safeguarding.commands
    assert safeguarding.name == "safeguarding"


def _alert_store(tmp_path, database_url):
    """A migrated store holding one open alert, and the CLI's base arguments and environment."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with sessionmaker(engine, future=True).begin() as session:
        safeguarding_queries.add_alert(
            session, participant_id=None, answer_id=None, text="someone hurts me",
            channel="web", role="self", score=0.9, categories=["abuse"], immediate_danger=False)
    env = {"COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key"}
    return engine, ["--database-url", database_url], env


def test_a_second_resolve_is_refused_and_the_first_decision_stands(tmp_path, database_url):
    engine, base, env = _alert_store(tmp_path, database_url)
    runner = CliRunner(mix_stderr=False)
    try:
        first = runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "tester",
                                            "--action", "reassure", "--note", "Called her back"],
                              env=env)
        assert first.exit_code == 0, first.stderr
        second = runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "other",
                                             "--action", "record", "--note", "again"], env=env)
        assert second.exit_code == 1 and "Traceback" not in second.stderr
        refusal = second.stderr.strip().splitlines()
        assert len(refusal) == 1, second.stderr
        assert "already resolved by tester" in refusal[0] and "(reassure)" in refusal[0]
        assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d", refusal[0])
        with engine.connect() as connection:
            alert = connection.execute(select(SafeguardingAlert)).one()
            audit = connection.execute(select(AuditEntry.actor, AuditEntry.action)).all()
        assert (alert.status, alert.resolved_by, alert.resolved_action, alert.resolved_note) == (
            "resolved", "tester", "reassure", "Called her back")
        assert [(actor, action) for actor, action in audit
                if action == "safeguarding_resolve"] == [("tester", "safeguarding_resolve")]
        listed = runner.invoke(main, base + ["safeguarding", "list", "--all"], env=env)
        assert listed.exit_code == 0 and "reassure by tester: Called her back" in listed.stdout
        assert "again" not in listed.stdout
    finally:
        engine.dispose()


@pytest.mark.parametrize("args, message", [
    (["resolve", "1", "--by", "Jo", "--action", "record", "--note", ""],
     "Invalid value for '--note': say what was done or why; it cannot be blank."),
    (["resolve", "1", "--by", "Jo", "--action", "record", "--note", "  \t "],
     "Invalid value for '--note': say what was done or why; it cannot be blank."),
    (["resolve", "1", "--by", "Jo", "--note", "Called her back"],
     "Missing option '--action'. Choose from:"),
    (["erase", "1", "--by", "Jo", "--note", " "],
     "Invalid value for '--note': say what was done or why; it cannot be blank."),
])
def test_a_decision_needs_an_action_and_a_note(tmp_path, args, message):
    """A blank note or no --action is refused, and the alert stays open."""
    engine, base, env = _alert_store(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    try:
        result = CliRunner(mix_stderr=False).invoke(main, base + ["safeguarding", *args], env=env)
        assert result.exit_code == 2 and "Traceback" not in result.stderr
        command = f"coproduce safeguarding {args[0]}"
        assert result.stderr.startswith(f"{command}: {message}")
        assert result.stderr.endswith(f" See '{command} --help'.\n")
        assert len(result.stderr.splitlines()) == 1
        with engine.connect() as connection:
            assert connection.execute(select(SafeguardingAlert.status)).scalar_one() == "open"
    finally:
        engine.dispose()


def _flagged_answer(tmp_path, database_url, sender="tg-held"):
    """A participant whose answer was flagged; the services and the CLI's arguments."""
    from bot.app import build_services
    from tests.conftest import make_settings, test_tagger_path

    settings = make_settings(tmp_path, database_url=database_url)
    upgrade(settings.database_url)
    services = build_services(settings)
    talk = services.conversation
    talk.give_consent(sender, channel="rest")
    talk.set_role(sender, "self")
    assert talk.save_answer(sender, text="my support worker hits me", channel="rest",
                            message_id="m1").disclosure
    env = {"COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key",
           "COPRODUCE_THEMES_MODEL": str(test_tagger_path())}
    return services, ["--database-url", database_url], env


def _answers(services):
    from bot.store.models import Answer, Participant

    with services.sessions() as session:
        return ([(a.text, a.flagged) for a in session.execute(select(Answer)).scalars()],
                session.execute(select(Participant)).scalars().all())


def test_an_erasure_held_for_the_lead_is_shown_and_carried_out_after_review(tmp_path,
                                                                           database_url):
    services, base, env = _flagged_answer(tmp_path, database_url)
    runner = CliRunner(mix_stderr=False)
    try:
        assert services.data_rights.erase("tg-held", background=False).answers_held == 1
        listed = runner.invoke(main, base + ["safeguarding", "list"], env=env)
        assert "ERASURE WAITING" in listed.stdout and "Resolve this alert, then run" in listed.stdout
        early = runner.invoke(main, base + ["safeguarding", "erase", "1", "--by", "Jo",
                                            "--note", "ok"], env=env)
        assert early.exit_code == 1 and "Resolve alert 1 first" in early.stderr
        assert _answers(services)[0] == [("my support worker hits me", True)]
        runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "Jo", "--action",
                                    "report", "--note", "Told the council"], env=env)
        done = runner.invoke(main, base + ["safeguarding", "erase", "1", "--by", "Jo",
                                           "--note", "Report made; nothing more to keep"], env=env)
        assert done.exit_code == 0, done.stderr
        assert "1 answer deleted" in done.stdout
        assert _answers(services) == ([], [])  # the answer and the participant are gone
        with services.sessions() as session:
            alert = session.execute(select(SafeguardingAlert)).scalar_one()
            actions = [a.action for a in session.execute(select(AuditEntry)).scalars()]
        assert "hits" not in alert.text and alert.resolved_action == "report"  # decision kept
        assert "safeguarding_erasure" in actions
        again = runner.invoke(main, base + ["safeguarding", "erase", "1", "--by", "Jo",
                                            "--note", "again"], env=env)
        assert again.exit_code == 1
        assert "The erasure for alert 1 was already carried out" in again.stderr
        listed = runner.invoke(main, base + ["safeguarding", "list", "--all"], env=env)
        assert "ERASURE WAITING" not in listed.stdout and "hits" not in listed.stdout
    finally:
        services.engine.dispose()


def test_someone_whose_erasure_is_held_who_comes_back_starts_afresh_and_the_request_waits(
        tmp_path, database_url):
    services, base, env = _flagged_answer(tmp_path, database_url)
    runner = CliRunner(mix_stderr=False)
    talk = services.conversation
    try:
        talk.next_question("tg-held")  # they had gone on to the second question
        assert services.data_rights.erase("tg-held", background=False).answers_held == 1
        # They come back: a new start, at the first question, with the role asked anew.
        assert not talk.progress("tg-held").consented
        talk.give_consent("tg-held", channel="rest")
        progress = talk.progress("tg-held")
        assert progress.question_index == 0 and progress.role is None
        talk.set_role("tg-held", "on_behalf")
        talk.save_answer("tg-held", text="The bus to town", channel="rest", message_id="m2")
        # What they are told they have: both, the held answer and the new one.
        record = services.data_rights.record("tg-held")
        assert [a["text"] for a in record["answers"]] == ["my support worker hits me",
                                                          "The bus to town"]
        assert record["participant"]["role"] == "on_behalf"
        # The request still waits for the lead, who carries it out for the held answer only.
        listed = runner.invoke(main, base + ["safeguarding", "list"], env=env)
        assert "ERASURE WAITING" in listed.stdout
        runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "Jo", "--action",
                                    "record", "--note", "Recorded"], env=env)
        done = runner.invoke(main, base + ["safeguarding", "erase", "1", "--by", "Jo",
                                           "--note", "go"], env=env)
        assert done.exit_code == 0, done.stderr
        assert _answers(services)[0] == [("The bus to town", False)]
        assert talk.progress("tg-held").role == "on_behalf"  # their new start is untouched
        # Asking to delete again, with nothing held now: everything goes.
        assert services.data_rights.erase("tg-held", background=False).answers_held == 0
        assert _answers(services) == ([], [])
    finally:
        services.engine.dispose()


def test_a_second_held_erasure_after_coming_back_keeps_one_held_record(tmp_path, database_url):
    services, base, env = _flagged_answer(tmp_path, database_url)
    runner = CliRunner(mix_stderr=False)
    talk = services.conversation
    try:
        services.data_rights.erase("tg-held", background=False)
        assert services.data_rights.erase("tg-held", background=False).answers_held == 1
        talk.give_consent("tg-held", channel="rest")
        talk.set_role("tg-held", "self")
        assert talk.save_answer("tg-held", text="my brother takes my money", channel="rest",
                                message_id="m3").disclosure
        assert services.data_rights.erase("tg-held", background=False).answers_held == 1
        answers, people = _answers(services)
        assert sorted(answers) == [("my brother takes my money", True),
                                   ("my support worker hits me", True)]
        assert len(people) == 1 and people[0].status == "erasure_held"
        record = services.data_rights.record("tg-held")
        assert len(record["answers"]) == 2
        listed = runner.invoke(main, base + ["safeguarding", "list"], env=env)
        assert listed.stdout.count("ERASURE WAITING") == 2
    finally:
        services.engine.dispose()


def test_two_erasures_at_once_are_carried_out_once(tmp_path, database_url):
    """A second erasure started while the first is being written waits for it, then says it
    is done already: one erasure, one audit entry."""
    import threading

    from sqlalchemy import event

    services, _, _ = _flagged_answer(tmp_path, database_url)
    try:
        services.data_rights.erase("tg-held", background=False)
        services.alerts.resolve(1, by="Jo", action="report", note="Told the council")
        second = {}

        def erase_again():
            try:
                second["deleted"] = services.alerts.finish_erasure(1, by="Kim", note="Me too")
            except ValueError as error:
                second["refused"] = str(error)

        racer = threading.Thread(target=erase_again)

        @event.listens_for(services.sessions, "before_commit")
        def start_the_second_before_the_first_commits(session):
            if not racer.is_alive() and not second:
                racer.start()
                racer.join(timeout=1)  # it must wait for the first erasure's lock

        assert services.alerts.finish_erasure(1, by="Jo", note="Report made") == 1
        racer.join(timeout=30)
        assert second == {"refused": "The erasure for alert 1 was already carried out; there "
                                     "is nothing more to delete."}
        with services.sessions() as session:
            erasures = session.execute(select(AuditEntry.actor).where(
                AuditEntry.action == "safeguarding_erasure")).scalars().all()
        assert erasures == ["Jo"]
        assert _answers(services) == ([], [])
    finally:
        services.engine.dispose()


def test_a_dismissed_false_alarm_rejoins_the_answers_or_lets_a_held_erasure_go(tmp_path,
                                                                              database_url):
    from bot.store import theme_queries

    services, base, env = _flagged_answer(tmp_path, database_url)
    runner = CliRunner(mix_stderr=False)
    try:
        result = runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "Jo",
                                             "--action", "dismiss", "--note", "Boxing"], env=env)
        assert result.exit_code == 0, result.stderr
        assert "in themes, reports and exports again" in result.stdout
        assert _answers(services)[0] == [("my support worker hits me", False)]
        with services.sessions() as session:  # themed like any other answer
            answer_id = session.execute(select(SafeguardingAlert.answer_id)).scalar_one()
            assert theme_queries.tags_of(session, answer_id=answer_id)
        # Dismissing the alert of someone who asked for deletion lets the deletion go ahead.
        talk = services.conversation
        assert talk.save_answer("tg-held", text="staff lock me in my room", channel="rest",
                                message_id="m2").disclosure
        assert services.data_rights.erase("tg-held", background=False).answers_held == 1
        result = runner.invoke(main, base + ["safeguarding", "resolve", "2", "--by", "Jo",
                                             "--action", "dismiss", "--note", "A film"], env=env)
        assert "that is done now" in result.stdout
        assert _answers(services) == ([], [])
        # A message that was not an answer (said at the theme check): nobody asked for an
        # erasure, and there is no answer to put back; the alert keeps the words.
        assert talk.screen_message("tg-check", text="my brother hits me", channel="rest")
        result = runner.invoke(main, base + ["safeguarding", "resolve", "3", "--by", "Jo",
                                             "--action", "dismiss", "--note", "A game"], env=env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ("Alert 3 is resolved (dismiss by Jo).\nThe message was not an "
                                 "answer to a question, so there is no answer to put back; the "
                                 "alert keeps its words.\n")
        with services.sessions() as session:
            assert session.get(SafeguardingAlert, 3).text == "my brother hits me"
    finally:
        services.engine.dispose()


def test_an_erasure_done_by_a_dismissal_is_not_shown_as_waiting(tmp_path, database_url):
    """A person with two flagged answers asks for deletion; the lead dismisses one alert (which
    deletes that answer) while the other is still open. `list --all` shows the erasure waiting
    only where it still waits, and when each decision was made."""
    services, base, env = _flagged_answer(tmp_path, database_url)
    runner = CliRunner(mix_stderr=False)

    def listed():
        result = runner.invoke(main, base + ["safeguarding", "list", "--all"], env=env)
        assert result.exit_code == 0, result.stderr
        return {block.split(" ", 1)[0]: block for block in  # each alert's lines, by its id
                re.findall(r"^#(.*?)(?=^#|\Z)", result.stdout, re.S | re.M)}

    def decided(alert_id):
        with services.sessions() as session:
            moment = session.get(SafeguardingAlert, alert_id).resolved_at
        moment = moment.replace(tzinfo=timezone.utc) if moment.utcoffset() is None else moment
        return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"

    try:
        assert services.conversation.save_answer("tg-held", text="staff lock me in my room",
                                                 channel="rest", message_id="m2").disclosure
        assert services.data_rights.erase("tg-held", background=False).answers_held == 2
        result = runner.invoke(main, base + ["safeguarding", "resolve", "2", "--by", "Jo",
                                             "--action", "dismiss", "--note", "A film"], env=env)
        assert result.exit_code == 0 and "that is done now" in result.stdout, result.stderr
        alerts = listed()
        assert "ERASURE WAITING" not in alerts["2"] and "lock me" not in alerts["2"]
        assert f"    Decided {decided(2)}: dismiss by Jo: A film\n" in alerts["2"]
        assert "ERASURE WAITING" in alerts["1"] and "Resolve this alert, then run" in alerts["1"]
        assert "Decided" not in alerts["1"]  # still open
        done = runner.invoke(main, base + ["safeguarding", "erase", "2", "--by", "Jo",
                                           "--note", "n"], env=env)
        assert done.exit_code == 1 and "already carried out" in done.stderr
        # The open one is resolved: its erasure waits, with the command that carries it out.
        runner.invoke(main, base + ["safeguarding", "resolve", "1", "--by", "Kim", "--action",
                                    "report", "--note", "Told the council"], env=env)
        alerts = listed()
        assert "Run `coproduce safeguarding erase 1 --by NAME --note TEXT`" in alerts["1"]
        assert f"    Decided {decided(1)}: report by Kim: Told the council\n" in alerts["1"]
        assert "ERASURE WAITING" not in alerts["2"]
        done = runner.invoke(main, base + ["safeguarding", "erase", "1", "--by", "Kim",
                                           "--note", "Report made"], env=env)
        assert done.exit_code == 0, done.stderr
        assert "ERASURE WAITING" not in "".join(listed().values())
        assert _answers(services) == ([], [])
    finally:
        services.engine.dispose()


@pytest.mark.parametrize("email, chat, smtp, token, said", [
    ("", "", "", "", ["go to nobody at once: engagement.yml sets neither alert_email nor "
                      "alert_telegram_chat_id. Until one is set up, alerts only wait in "
                      "`coproduce safeguarding list`."]),
    ("lead@example.org", "", "", "", ["to lead@example.org, but COPRODUCE_SMTP_HOST is not set, "
                                      "so no e-mail can go. Until one is set up"]),
    ("lead@example.org", "", "127.0.0.1", "", []),
    ("", "-100123", "", "123:abc", []),
    # One route works: the other's problem is said, but alerts do go.
    ("lead@example.org", "-100123", "127.0.0.1", "", ["TELEGRAM_BOT_TOKEN is not set, so none "
                                                       "can go there."]),
])
def test_a_safeguarding_route_that_cannot_send_is_said_plainly(tmp_path, email, chat, smtp,
                                                               token, said):
    import dataclasses

    from bot.app import alert_route_problems
    from bot.engagement import load_engagement
    from tests.conftest import make_settings

    settings = dataclasses.replace(make_settings(tmp_path), smtp_host=smtp,
                                   telegram_bot_token=token)
    engagement = dataclasses.replace(load_engagement(settings.engagement_file),
                                     alert_email=email, alert_telegram_chat_id=chat)
    problems = alert_route_problems(settings, engagement)
    assert len(problems) == len(said)
    for problem, words in zip(problems, said):
        assert words in problem
    if said and "Until one is set up" not in said[-1]:
        assert "Until one is set up" not in problems[-1]


def test_safeguarding_list_warns_when_alerts_go_to_nobody(tmp_path, database_url):
    services, base, env = _flagged_answer(tmp_path, database_url)
    try:
        listed = CliRunner(mix_stderr=False).invoke(main, base + ["safeguarding", "list"], env=env)
        assert listed.exit_code == 0
        assert listed.stderr.startswith("Warning: Safeguarding alerts go to nobody at once")
        assert len(listed.stderr.splitlines()) == 1
        assert "my support worker hits me" in listed.stdout
    finally:
        services.engine.dispose()
