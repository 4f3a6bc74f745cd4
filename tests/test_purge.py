"""`coproduce purge`: old data goes by the erasure path; safeguarding records stay; audited."""
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, select, update

from bot.app import build_services
from bot.cli import main
from bot.store import queries
from bot.store.migrate import upgrade
from bot.store.models import Answer, AuditEntry, Participant
from bot.store.tracker import count_events, tracker_engine
from tests.conftest import make_settings


def make_people(services):
    """One old participant, one old with a flagged answer, one recent."""
    with services.sessions.begin() as session:
        for name, flagged in (("old", False), ("old-flagged", True), ("new", False)):
            person = queries.get_or_create_participant(session, pseudonym=name,
                                                       engagement_id="e", channel="rest")
            queries.save_answer(session, participant=person, question_id="q", text=f"{name} words",
                                channel="rest", channel_message_id=f"m-{name}", flagged=flagged)
        long_ago = datetime.now(timezone.utc) - timedelta(days=400)
        old = session.execute(select(Participant.id).where(
            Participant.pseudonym.in_(["old", "old-flagged"]))).scalars().all()
        session.execute(update(Participant).where(Participant.id.in_(old))
                        .values(updated_at=long_ago))
        session.execute(update(Answer).where(Answer.participant_id.in_(old))
                        .values(created_at=long_ago))


def make_events(settings):
    engine = tracker_engine(settings)
    events = Table("events", MetaData(), Column("id", Integer, primary_key=True),
                   Column("sender_id", String(255)), Column("type_name", String(255)),
                   Column("timestamp", Float), Column("intent_name", String(255)),
                   Column("action_name", String(255)), Column("data", String))
    events.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(events.insert(), [
            {"sender_id": "a", "type_name": "user", "timestamp": time.time() - 401 * 86400, "data": "{}"},
            {"sender_id": "a", "type_name": "user", "timestamp": time.time() - 400 * 86400, "data": "{}"},
            # A conversation still going keeps its old events: Rasa needs them to know the step.
            {"sender_id": "b", "type_name": "user", "timestamp": time.time() - 400 * 86400, "data": "{}"},
            {"sender_id": "b", "type_name": "user", "timestamp": time.time(), "data": "{}"}])
    return engine


def test_purge_dry_run_then_for_real(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url=database_url)
    upgrade(settings.database_url)
    services = build_services(settings)
    make_people(services)
    engine = make_events(settings)
    env = {"COPRODUCE_VAR_DIR": str(settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"}
    base = ["--database-url", settings.database_url, "purge", "--older-than", "365d"]
    dry = CliRunner().invoke(main, base + ["--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "Would remove: 1 participant, 1 answer, 2 chat events older than 365 days.",
        "Would keep for the safeguarding lead: 1 answer from 1 participant (the rest of their "
        "data would go; see `coproduce safeguarding list`)."]
    with services.sessions() as session:
        assert len(session.execute(select(Answer)).all()) == 3
    real = CliRunner().invoke(main, base + ["--by", "Data Officer"], env=env)
    assert real.exit_code == 0, real.output
    assert real.output.splitlines() == [
        "Removed: 1 participant, 1 answer, 2 chat events older than 365 days.",
        "Kept for the safeguarding lead: 1 answer from 1 participant (the rest of their data is "
        "gone; see `coproduce safeguarding list`)."]
    with services.sessions() as session:
        texts = sorted(session.execute(select(Answer.text)).scalars())
        audit = session.execute(select(AuditEntry)).scalars().all()
    assert texts == ["new words", "old-flagged words"]
    assert count_events(engine, "a") == 0 and count_events(engine, "b") == 2
    assert [(a.actor, a.action) for a in audit] == [("Data Officer", "purge")]


def test_a_recent_answer_keeps_a_participant_who_started_long_ago(tmp_path, database_url):
    """Someone who said yes and chose their role over a year ago, and came back to answer last
    week, has been active since: a purge keeps them and every answer they gave."""
    settings = make_settings(tmp_path, database_url=database_url)
    upgrade(settings.database_url)
    services = build_services(settings)
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    last_week = datetime.now(timezone.utc) - timedelta(days=7)
    with services.sessions.begin() as session:
        person = queries.get_or_create_participant(session, pseudonym="back", engagement_id="e",
                                                   channel="rest")
        for key, when in (("first", long_ago), ("later", last_week)):
            answer, _ = queries.save_answer(session, participant=person, question_id="q",
                                            text=f"{key} words", channel="rest",
                                            channel_message_id=f"m-{key}")
            answer.created_at = when
        session.flush()
        session.execute(update(Participant).values(updated_at=long_ago))
    env = {"COPRODUCE_VAR_DIR": str(settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"}
    base = ["--database-url", settings.database_url, "purge", "--older-than", "365d"]
    for extra in (["--dry-run"], []):
        result = CliRunner().invoke(main, base + extra, env=env)
        assert result.exit_code == 0, result.output
        assert "0 participants, 0 answers" in result.output
    with services.sessions() as session:
        assert sorted(session.execute(select(Answer.text)).scalars()) == ["first words",
                                                                           "later words"]
    services.engine.dispose()


@pytest.mark.parametrize("age, message", [
    ("soon", "--older-than must look like"), ("0d", "must be from 1 to 365000 days"),
    ("", "--older-than must look like 365d, 52w or 1y, not ''."),
    ("999999d", "must be from 1 to 365000 days"), ("99999999999d", "not 99999999999d")])
def test_a_bad_age_is_one_clear_line(settings, age, message):
    result = CliRunner().invoke(main, ["--database-url", settings.database_url, "purge",
                                       "--older-than", age, "--dry-run"])
    assert result.exit_code == 2 and message in result.output  # a usage error, as click's own
    assert result.output.startswith("coproduce purge: ")
    assert result.output.endswith(" See 'coproduce purge --help'.\n")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("decision, said", [
    (["erase", "1", "--note", "Nothing to follow up"], "Done: 1 answer deleted."),
    (["resolve", "1", "--action", "dismiss", "--note", "A film"],
     "Their data had passed the retention period, and `coproduce purge` had deleted the rest: "
     "this answer is deleted now too."),
])
def test_an_erasure_held_after_a_purge_says_the_purge_asked(settings, decision, said):
    """The lead is told the retention period asked for the erasure, not the person; the erasure
    then goes ahead as for a person's request, and the alert says why its words went."""
    from bot.safeguarding.alerts import PURGED_TEXT
    from bot.store import safeguarding_queries
    from bot.store.models import SafeguardingAlert

    upgrade(settings.database_url)
    services = build_services(settings)
    make_people(services)
    with services.sessions.begin() as session:
        held = session.execute(select(Answer).where(Answer.flagged.is_(True))).scalar_one()
        safeguarding_queries.add_alert(
            session, participant_id=held.participant_id, answer_id=held.id, text=held.text,
            channel="rest", role=None, score=0.9, categories=["abuse"], immediate_danger=False)
    env = {"COPRODUCE_VAR_DIR": str(settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"}
    base = ["--database-url", settings.database_url]
    assert CliRunner().invoke(main, base + ["purge", "--older-than", "365d"],
                              env=env).exit_code == 0
    listed = CliRunner().invoke(main, base + ["safeguarding", "list"], env=env)
    assert "ERASURE WAITING: their data passed the retention period; `coproduce purge` deleted " \
           "the rest. Resolve this alert" in listed.output
    assert "the person asked" not in listed.output
    steps = [decision] if "dismiss" in decision else \
        [["resolve", "1", "--action", "record", "--note", "Noted"], decision]
    for command in steps:
        done = CliRunner().invoke(main, base + ["safeguarding", *command, "--by", "Jo"], env=env)
        assert done.exit_code == 0, done.output
    assert said in done.output
    with services.sessions() as session:
        assert session.execute(select(SafeguardingAlert.text)).scalar_one() == PURGED_TEXT
        assert sorted(session.execute(select(Answer.text)).scalars()) == ["new words"]
    services.engine.dispose()


def test_someone_held_by_the_purge_who_comes_back_starts_afresh(settings):
    """A purged participant whose flagged answer waits for the lead is held under another
    name: coming back is a new start (not "You have answered all the questions"), and the
    held answer still waits."""
    from bot.data_rights import held_pseudonym
    from bot.store.models import PURGE_HELD

    upgrade(settings.database_url)
    services = build_services(settings)
    make_people(services)
    with services.sessions.begin() as session:
        session.execute(update(Participant).where(Participant.pseudonym == "old-flagged")
                        .values(question_index=3, status="finished",
                                updated_at=datetime.now(timezone.utc) - timedelta(days=400)))
    env = {"COPRODUCE_VAR_DIR": str(settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"}
    result = CliRunner().invoke(main, ["--database-url", settings.database_url, "purge",
                                       "--older-than", "365d"], env=env)
    assert result.exit_code == 0, result.output
    with services.sessions() as session:
        assert queries.get_participant(session, pseudonym="old-flagged") is None
        held = queries.get_participant(session, pseudonym=held_pseudonym("old-flagged"))
        assert held.status == PURGE_HELD and [a.text for a in held.answers] == ["old-flagged words"]
    services.engine.dispose()


def test_the_dry_run_says_what_the_purge_then_does_with_messages_held_apart(settings):
    """A message said outside the questions whose alert is open is held like a flagged answer,
    in the dry run as in the purge, and counted as a message, not an answer."""
    from bot.store import safeguarding_queries

    upgrade(settings.database_url)
    services = build_services(settings)
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    with services.sessions.begin() as session:
        people = {}
        for name in ("erin", "lucy", "kate"):
            people[name] = queries.get_or_create_participant(session, pseudonym=name,
                                                             engagement_id="e", channel="rest")
        for name, text, flagged in (("erin", "the park", False), ("lucy", "the shops", False),
                                    ("lucy", "he hits me", True)):
            answer, _ = queries.save_answer(session, participant=people[name], question_id="q",
                                         text=text, channel="rest",
                                         channel_message_id=f"m-{text}", flagged=flagged)
            if flagged:
                safeguarding_queries.add_alert(
                    session, participant_id=people[name].id, answer_id=answer.id, text=text,
                    channel="rest", role=None, score=0.9, categories=["abuse"],
                    immediate_danger=False)
        safeguarding_queries.add_alert(  # before taking part: a message, not an answer
            session, participant_id=people["kate"].id, answer_id=None, text="she hurts me",
            channel="rest", role=None, score=0.9, categories=["abuse"], immediate_danger=False)
        session.execute(update(Participant).values(updated_at=long_ago))
        session.execute(update(Answer).values(created_at=long_ago))
    env = {"COPRODUCE_VAR_DIR": str(settings.var_dir), "COPRODUCE_HASH_KEY": "test-key"}
    base = ["--database-url", settings.database_url, "purge", "--older-than", "365d"]
    said = [CliRunner().invoke(main, base + extra, env=env).output for extra in (["--dry-run"], [])]
    assert said[0].startswith("Would remove: 1 participant, 2 answers")
    assert said[1].startswith("Removed: 1 participant, 2 answers")
    for words, verb in zip(said, ("Would keep", "Kept")):
        assert f"{verb} for the safeguarding lead: 1 answer and 1 other message from 2 " \
               "participants" in words
    with services.sessions() as session:
        assert session.execute(select(Answer.text)).scalars().all() == ["he hits me"]
        assert len(session.execute(select(Participant)).scalars().all()) == 2
    services.engine.dispose()
