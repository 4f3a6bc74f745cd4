"""The store remembers which hashing key made its pseudonyms, and refuses another: a new install
that did not carry var/secret.key across would not know anyone who comes back, and "Delete my
answers" would miss their answers. Staff commands refuse a schema they do not know."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select, text

from bot.app import build_services
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Answer, KeyCheck, Participant
from tests.conftest import make_settings

FIX = ("Copy secret.key from the install that made the database into {var} (or set "
       "COPRODUCE_HASH_KEY to that key). If that key is lost for good, `coproduce db new-key` "
       "starts again with this one.")


def keyless_settings(tmp_path, database_url):
    """Settings whose key lives in var/secret.key (made on first use), as on a real install."""
    return make_settings(tmp_path, database_url=database_url, hash_key="")


def coproduce(settings, *args):
    from bot.cli import main

    env = {**settings.to_env(), "TELEGRAM_BOT_TOKEN": None}
    env.pop("COPRODUCE_HASH_KEY", None)
    if settings.hash_key:
        env["COPRODUCE_HASH_KEY"] = settings.hash_key
    return CliRunner(mix_stderr=False).invoke(main, list(args), env=env)


def take_part(settings, sender="alice", words="I like the park"):
    """A participant who agreed and answered once; returns the services used."""
    services = build_services(settings)
    services.conversation.give_consent(sender, channel="rest")
    services.conversation.set_role(sender, "self")
    services.conversation.save_answer(sender, text=words, channel="rest", message_id=f"{sender}-1")
    return services


def test_the_first_process_records_the_key_and_the_same_key_is_accepted(tmp_path, database_url):
    upgrade(database_url)
    settings = keyless_settings(tmp_path, database_url)
    first = take_part(settings)
    first.engine.dispose()
    again = build_services(settings)
    with again.sessions() as session:
        assert session.execute(select(func.count()).select_from(KeyCheck)).scalar() == 1
        digest = session.execute(select(KeyCheck.digest)).scalar()
    assert len(digest) == 64 and (tmp_path / "secret.key").read_text().strip() not in digest
    assert again.conversation.progress("alice").known
    again.engine.dispose()


def test_a_lost_key_file_is_refused_and_the_new_one_not_kept(tmp_path, database_url):
    """A new install without the old var/secret.key: one clear line, and nothing changes."""
    upgrade(database_url)
    settings = keyless_settings(tmp_path, database_url)
    take_part(settings).engine.dispose()
    (tmp_path / "secret.key").rename(tmp_path / "old.key")
    result = coproduce(settings, "export", "--out", "-", "--format", "csv")
    assert result.exit_code == 1, result.stderr
    assert result.stderr == (
        f"coproduce: This database was made with another hashing key than the one in "
        f"{tmp_path / 'secret.key'}: nobody who comes back would be known, and their answers "
        f"could not be found to delete. {FIX.format(var=tmp_path)}\n")
    assert result.stdout == ""
    assert not (tmp_path / "secret.key").exists()
    (tmp_path / "old.key").rename(tmp_path / "secret.key")
    services = build_services(settings)
    assert services.conversation.progress("alice").known
    services.engine.dispose()


def test_a_store_from_before_the_check_with_people_refuses_a_new_key(tmp_path, database_url):
    """A database upgraded from a version that kept no key check, brought to a new install with
    no key file: refused (and no key file left behind); with the key, it is recorded."""
    upgrade(database_url)
    settings = keyless_settings(tmp_path, database_url)
    take_part(settings).engine.dispose()
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM key_checks"))
    engine.dispose()
    (tmp_path / "secret.key").rename(tmp_path / "old.key")
    result = coproduce(settings, "themes", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        f"coproduce: This database holds 1 participant, but there was no hashing key "
        f"({tmp_path / 'secret.key'}), and a new one would not know anyone who comes back. "
        f"{FIX.format(var=tmp_path)}\n")
    assert not (tmp_path / "secret.key").exists()
    (tmp_path / "old.key").rename(tmp_path / "secret.key")
    assert coproduce(settings, "themes", "list").exit_code == 0
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM key_checks")).scalar() == 1
    engine.dispose()


def test_another_key_from_the_setting_is_refused_by_serve_and_staff(tmp_path, database_url):
    upgrade(database_url)
    settings = make_settings(tmp_path, database_url=database_url, hash_key="the-first-key")
    take_part(settings).engine.dispose()
    other = make_settings(tmp_path, database_url=database_url, hash_key="another-key")
    said = ("This database was made with another hashing key than the one in COPRODUCE_HASH_KEY: "
            "nobody who comes back would be known")
    result = coproduce(other, "report", "--out", "-")
    assert result.exit_code == 1 and result.stderr.startswith(f"coproduce: {said}"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    result = coproduce(other, "serve")
    assert result.exit_code == 1 and said in result.stderr, result.stderr
    assert result.stderr.startswith("coproduce: Could not prepare the database. ")


def test_new_key_starts_again_with_this_key_when_told_so(tmp_path, database_url):
    upgrade(database_url)
    settings = make_settings(tmp_path, database_url=database_url, hash_key="the-first-key")
    take_part(settings).engine.dispose()
    other = make_settings(tmp_path, database_url=database_url, hash_key="another-key")
    refused = coproduce(other, "db", "new-key")
    assert refused.exit_code == 2 and "Give --yes if the old key is lost for good." in refused.stderr
    assert coproduce(other, "export", "--out", "-", "--format", "csv").exit_code == 1
    done = coproduce(other, "db", "new-key", "--yes", "--by", "Sam Staff")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("The database uses this install's hashing key from now on.")
    assert coproduce(other, "db", "new-key", "--yes").stdout == \
        "The database already uses this key. Nothing changed.\n"
    services = build_services(other)
    assert not services.conversation.progress("alice").known  # not known with the new key
    with services.sessions() as session:  # the earlier answer stays for staff
        assert session.execute(select(Answer.text)).scalars().all() == ["I like the park"]
        assert session.execute(select(func.count()).select_from(Participant)).scalar() == 1
    services.engine.dispose()
    assert coproduce(settings, "themes", "list").exit_code == 1  # the old key is refused now


def test_staff_commands_refuse_a_schema_they_do_not_know(tmp_path, database_url):
    from alembic import command

    from bot.store.migrate import alembic_config

    upgrade(database_url)
    settings = make_settings(tmp_path, database_url=database_url)
    take_part(settings).engine.dispose()
    engine = make_engine(database_url)
    with engine.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    newer = ("coproduce: The database was made by a newer or different version of Coproduce "
             f"(revision 9999; this version knows up to {head}). Use that version, or another "
             "database.\n")
    for args in (["actions", "add", "--theme", "purpose", "--text", "We will help.",
                  "--status", "planned"], ["purge", "--older-than", "1d"],
                 ["export", "--out", "-", "--format", "csv"], ["themes", "list"]):
        result = coproduce(settings, *args)
        assert (result.exit_code, result.stderr, result.stdout) == (1, newer, ""), args
    engine = make_engine(database_url)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM staff_actions")).scalar() == 0
        assert connection.execute(text("SELECT COUNT(*) FROM answers")).scalar() == 1
        connection.execute(text(f"UPDATE alembic_version SET version_num = '{head}'"))
    engine.dispose()
    command.downgrade(alembic_config(database_url), "-1")
    engine = make_engine(database_url)
    with engine.connect() as connection:
        below = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    result = coproduce(settings, "actions", "add", "--theme", "purpose", "--text", "We will help.",
                       "--status", "planned")
    assert result.exit_code == 1
    assert result.stderr == (f"coproduce: The database is at revision {below}, older than this "
                             f"version of Coproduce (revision {head}). Run `coproduce db "
                             "upgrade` first.\n")
    assert coproduce(settings, "db", "upgrade").exit_code == 0
    assert coproduce(settings, "themes", "list").exit_code == 0
