"""Migrations: an empty database upgrades to head and then matches the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Base


def test_upgrade_to_head_matches_the_models(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert set(Base.metadata.tables) <= tables


def test_upgrade_twice_is_harmless(database_url):
    upgrade(database_url)
    upgrade(database_url)


def test_answers_tagged_by_a_person_before_0005_keep_that_fact(database_url):
    from sqlalchemy import text

    upgrade(database_url, "0004")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO participants (id, pseudonym, engagement_id, channel, question_index, "
            "status, created_at, updated_at) VALUES (1, 'p', 'e', 'rest', 0, 'in_progress', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        for answer_id, source in ((1, "participant"), (2, "auto"), (3, None)):
            connection.execute(text(
                "INSERT INTO answers (id, participant_id, question_id, text, channel, "
                "channel_message_id, flagged, created_at) VALUES (:id, 1, 'q', 'x', 'rest', "
                ":mid, false, CURRENT_TIMESTAMP)"), {"id": answer_id, "mid": f"m{answer_id}"})
            if source:
                connection.execute(text(
                    "INSERT INTO answer_themes (answer_id, theme_id, source, created_at) "
                    "VALUES (:id, 'purpose', :source, CURRENT_TIMESTAMP)"),
                    {"id": answer_id, "source": source})
    upgrade(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, themes_set_by FROM answers ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "participant"), (2, None), (3, None)]


def test_answers_given_for_someone_before_0008_keep_the_carers_word(database_url):
    """An answer given for someone is marked with the person's agreement where the carer's row
    still holds it; one whose carer has since answered for themselves is not known (None)."""
    from sqlalchemy import text

    upgrade(database_url, "0007")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for pid, role, agrees in ((1, "on_behalf", True), (2, "self", None)):
            connection.execute(text(
                "INSERT INTO participants (id, pseudonym, engagement_id, channel, role, "
                "person_agrees, question_index, status, created_at, updated_at) VALUES (:id, :p, "
                "'e', 'rest', :role, :agrees, 0, 'in_progress', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"), {"id": pid, "p": f"p{pid}", "role": role, "agrees": agrees})
        for answer_id, pid, role in ((1, 1, "on_behalf"), (2, 2, "on_behalf"), (3, 2, "self")):
            connection.execute(text(
                "INSERT INTO answers (id, participant_id, question_id, text, role, channel, "
                "channel_message_id, flagged, created_at) VALUES (:id, :pid, 'q', 'x', :role, "
                "'rest', :mid, false, CURRENT_TIMESTAMP)"),
                {"id": answer_id, "pid": pid, "role": role, "mid": f"m{answer_id}"})
    upgrade(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, person_agrees FROM answers ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, True), (2, None), (3, None)]


def test_records_held_for_the_lead_before_0009_move_under_their_held_name(database_url):
    """A record held after an erasure or a purge moves to the name found from the pseudonym, so
    that the person, coming back, starts afresh; others keep theirs."""
    from sqlalchemy import text

    from bot.data_rights import held_pseudonym

    upgrade(database_url, "0008")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for pid, status in ((1, "erasure_held"), (2, "purge_held"), (3, "finished")):
            connection.execute(text(
                "INSERT INTO participants (id, pseudonym, engagement_id, channel, question_index, "
                "status, created_at, updated_at) VALUES (:id, :p, 'e', 'rest', 2, :status, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": pid, "p": f"p{pid}", "status": status})
    upgrade(database_url)
    upgrade(database_url)  # twice: nothing more moves
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, pseudonym, question_index FROM participants ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, held_pseudonym("p1"), 0),
                                            (2, held_pseudonym("p2"), 0), (3, "p3", 2)]


def test_db_upgrade_says_what_it_did(database_url):
    from alembic import command
    from alembic.script import ScriptDirectory
    from click.testing import CliRunner

    from bot.cli import main
    from bot.store.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    head = scripts.get_current_head()
    below = scripts.get_revision(head).down_revision

    def db_upgrade():
        result = CliRunner().invoke(main, ["--database-url", database_url, "db", "upgrade"])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    assert db_upgrade() == f"Created the database tables (revision {head})."
    assert db_upgrade() == f"The database is already up to date (revision {head})."
    command.downgrade(alembic_config(database_url), "-1")
    assert db_upgrade() == f"Upgraded the database from revision {below} to {head}."


def test_upgrades_started_at_once_all_succeed(tmp_path, database_url):
    """Several `coproduce db upgrade` on a new database take turns: one makes the tables, the
    others find them made (no 'already exists' or unique-key errors)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COPRODUCE_DATABASE_URL": database_url,
           "COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key"}
    runs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(5)]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0] * 5, outputs
    said = sorted(out.split(" (revision")[0] for out, _ in outputs)
    assert said == ["Created the database tables"] + ["The database is already up to date"] * 4


def test_a_database_from_an_unknown_version_is_one_clear_line(tmp_path, database_url):
    from alembic.script import ScriptDirectory
    from click.testing import CliRunner
    from sqlalchemy import text

    from bot.cli import main
    from bot.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result = CliRunner(mix_stderr=False).invoke(
        main, ["--database-url", database_url, "db", "upgrade"],
        env={"COPRODUCE_VAR_DIR": str(tmp_path), "COPRODUCE_HASH_KEY": "test-key"})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "coproduce: The database was made by a newer or different version of Coproduce "
        f"(revision 9999; this version knows up to {head}). Use that version, or another database."]
