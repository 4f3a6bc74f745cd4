"""The `coproduce` command line: one command group for participants' servers and for staff."""
from __future__ import annotations

import errno
import importlib
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import click

from bot.cli_options import UsageLine, UserError, by_option, counted, operator_problem
from bot.logs import configure
from bot.settings import Settings

log = logging.getLogger(__name__)

WATCH_EVERY = 1.0  # seconds between looks at the running servers
# Errors writing the output (to standard output or a file): said in one line, never a trace.
OUTPUT_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT}


class LazyGroup(click.Group):
    """A group whose sub-groups are imported only when named, so `coproduce themes tag` does not
    load the web app, the exports and the speech engines first (half a second saved)."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy_commands:
            module, attribute = self.lazy_commands[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


class CoproduceGroup(LazyGroup):
    """The top-level group: a usage mistake, or a database or engagement problem, in any command
    is one clear line."""

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except OSError as error:  # the output could not be written: a full disk, a closed device
            if error.errno not in OUTPUT_ERRORS:
                raise
            click.echo(f"coproduce: could not write the output: {error.strerror}.", err=True)
            try:  # what is still buffered goes nowhere, not into a second error at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            sys.exit(1)

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:  # `coproduce --bogus`, a bad --log-level
            raise UsageLine.of(error, ctx) from None

    def invoke(self, ctx):
        words = [*ctx.protected_args, *ctx.args]  # the command's name and arguments, still to parse
        try:
            return super().invoke(ctx)
        except (UserError, click.exceptions.Exit, click.Abort):
            raise  # already meant for the user (and --help must not import the store)
        except click.UsageError as error:  # any command's arguments, or an unknown command
            raise UsageLine.of(error, error.ctx or _named_command(ctx, words)) from None
        except click.ClickException as error:  # a command group's own: the same one prefix
            raise UserError(error.format_message()) from None
        except Exception as error:
            problem = operator_problem(error, ctx)
            if problem is None:
                raise
            raise problem from None


def _named_command(ctx: click.Context, words) -> click.Context:
    """The context of the (sub)command these words name, parsed leniently as for shell completion:
    where a usage error that does not say (`--action` with no value) happened."""
    while isinstance(ctx.command, click.MultiCommand) and words:
        try:
            name, command, words = ctx.command.resolve_command(ctx, words)
            if command is None:
                break
            ctx = command.make_context(name, words, parent=ctx, resilient_parsing=True)
        except click.ClickException:
            break
        words = [*ctx.protected_args, *ctx.args]
    return ctx


@click.group(cls=CoproduceGroup, lazy_commands={
    "audio": "bot.speech.cli:audio", "web": "bot.web.cli:web", "telegram": "bot.telegram.cli:telegram",
    "export": "bot.staff.cli:export", "report": "bot.staff.cli:report", "actions": "bot.staff.cli:actions",
    "notify": "bot.staff.cli:notify", "themes": "bot.themes.cli:themes",
    "safeguarding": "bot.safeguarding.cli:safeguarding",
})
@click.option("--database-url", envvar="COPRODUCE_DATABASE_URL", default=None,
              help="Database URL (default: SQLite in var/coproduce.db).")
@click.option("--engagement", "engagement_file", envvar="COPRODUCE_ENGAGEMENT_FILE",
              default=None, type=click.Path(path_type=Path), help="The engagement settings file.")
@click.option("--log-level", envvar="COPRODUCE_LOG_LEVEL", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                                case_sensitive=False),
              help="How much to log on standard error.")
@click.pass_context
def main(ctx: click.Context, database_url, engagement_file, log_level) -> None:
    """Coproduce: an accessible co-production chatbot."""
    overrides = {}
    if database_url:
        overrides["database_url"] = database_url
    if engagement_file:
        overrides["engagement_file"] = engagement_file
    configure(log_level)
    try:
        ctx.obj = Settings.from_env(**overrides)
    except ValueError as error:
        raise UserError(f"Bad setting: {error}") from None


def _prepare(settings: Settings) -> Path:
    """Check the engagement, train if needed and migrate; return the model path."""
    from bot.engagement import EngagementError, load_engagement
    from bot.rasa_model import ensure_model
    from bot.store.migrate import upgrade

    from bot.app import alert_route_problems

    try:
        engagement = load_engagement(settings.engagement_file)
    except EngagementError as exc:
        raise UserError(str(exc))

    try:
        done = upgrade(settings.database_url)
        _check_key(settings)
    except Exception as exc:  # a wrong URL, a database that is down, another hashing key
        problem = operator_problem(exc)
        detail = problem.message if problem else \
            f"{exc.__class__.__name__}: {(str(exc).splitlines() or [''])[0]}"
        raise UserError(f"Could not prepare the database. {detail}") from None
    if done.before is not None and done.before != done.after:
        click.echo(f"Upgraded the database from revision {done.before} to {done.after}.")
    try:
        model = ensure_model(settings, announce=click.echo)
    except Exception as exc:
        raise UserError(f"Could not train the Rasa model: {exc}")
    _prepare_tagger(settings)
    _warm_audio(settings)
    for problem in alert_route_problems(settings, engagement):  # last, just before "Ready"
        click.echo(click.style(f"Warning: {problem}", fg="yellow", bold=True), err=True)
    return model


def _check_key(settings: Settings) -> None:
    """Stop (HashKeyError) if the store's pseudonyms were made with another hashing key."""
    from bot.store.db import make_engine
    from bot.store.key_check import check_settings_key

    engine = make_engine(settings.database_url)
    try:
        check_settings_key(settings, engine)
    finally:
        engine.dispose()


def _prepare_tagger(settings: Settings) -> None:
    """Load (or train: the first time, or after new examples) the theme tagger, so no participant
    waits for it; a retraining includes the tags people confirmed."""
    from bot.app import build_services

    click.echo("Preparing the theme tagger ...")
    try:
        services = build_services(settings)
        try:
            services.tagging.tagger()
        finally:
            services.engine.dispose()
    except Exception as exc:  # themes help staff; they never stop the conversation
        log.warning("Could not prepare the theme tagger: %s", exc)


def _warm_audio(settings: Settings) -> None:
    """Render every fixed message's audio once, so no participant waits on speech."""
    from bot.speech.service import build_speech_service
    from bot.speech.warm import warm_domain

    click.echo("Preparing the spoken messages ...")
    try:
        counts = warm_domain(build_speech_service(settings),
                             Path(settings.project_root) / "domain.yml", progress=True)
    except Exception as exc:  # speech is never allowed to stop the text conversation
        log.warning("Could not prepare audio: %s", exc)
        return
    if counts.failed:
        click.echo(f"{counts.failed} messages have no audio yet; they will be tried again later.")


def _start_servers(settings: Settings, model: Path, web: bool = False):
    from bot.servers import ServerError, Servers

    servers = Servers(settings, model, env={**os.environ, **settings.to_env()}, web=web)
    click.echo("Starting the assistant (this takes about half a minute) ...")
    try:
        servers.start()
    except ServerError as exc:
        raise UserError(str(exc))
    return servers


@main.command()
@click.option("--force", is_flag=True, help="Train even if the data did not change.")
@click.option("--config", type=click.Path(exists=True, path_type=Path), default=None,
              help="Rasa config file (default: config.yml).")
@click.pass_obj
def train(settings: Settings, force: bool, config) -> None:
    """Train the Rasa model if the training data or config changed."""
    from bot.rasa_model import ensure_model
    import dataclasses

    if config:
        settings = dataclasses.replace(settings, rasa_config=config)
    try:
        click.echo(f"Model: {ensure_model(settings, force=force, announce=click.echo)}")
    except Exception as exc:
        raise UserError(f"Could not train the Rasa model: {exc}")


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Apply every database migration."""
    from bot.store.migrate import upgrade

    done = upgrade(settings.database_url)
    if done.before is None:
        click.echo(f"Created the database tables (revision {done.after}).")
    elif done.before != done.after:
        click.echo(f"Upgraded the database from revision {done.before} to {done.after}.")
    else:
        click.echo(f"The database is already up to date (revision {done.after}).")


@db.command("new-key")
@click.option("--yes", is_flag=True, help="Yes: the old key is lost for good.")
@by_option
@click.pass_obj
def db_new_key(settings: Settings, yes: bool, actor: str) -> None:
    """Use this install's hashing key from now on, when the key that made the database is lost.

    Nobody who took part before is known when they come back: they start again as someone new,
    and their earlier answers stay (staff can export them; `purge` removes them in time).
    """
    from bot.identity import load_hash_key
    from bot.store import staff_queries
    from bot.store.db import make_engine, make_session_factory
    from bot.store.key_check import replace_key_check

    if not yes:
        raise click.UsageError("This cannot be undone: nobody who took part before will be known "
                               "when they come back. Give --yes if the old key is lost for good.")
    engine = make_engine(settings.database_url, must_exist=True)
    try:
        if not replace_key_check(engine, load_hash_key(settings)):
            click.echo("The database already uses this key. Nothing changed.")
            return
        with make_session_factory(engine).begin() as session:
            staff_queries.add_audit(session, actor=actor, action="new_hash_key", detail={})
    finally:
        engine.dispose()
    click.echo("The database uses this install's hashing key from now on. People who took part "
               "before will start again if they come back.")


@main.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Start the Rasa server (REST on 127.0.0.1:5005) and the action server, without a chat."""
    _stop_on_sigterm()  # from the start: a stop while training or starting leaves nothing behind
    try:
        model = _prepare(settings)
        servers = _start_servers(settings, model)
    except KeyboardInterrupt:
        raise UserError("Stopped before the assistant was ready.") from None
    click.echo(f"Ready. REST channel: {settings.rasa_url}/webhooks/rest/webhook "
               f"(logs in {servers.log_dir}). Press Ctrl-C to stop.")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        _wait_until_stopped(servers, lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
        click.echo("Stopped.")


@main.command()
@click.option("--sender", default=None, help="Talk as this participant id (default: this terminal).")
@click.pass_obj
def chat(settings: Settings, sender) -> None:
    """Chat with a running assistant in the terminal."""
    _chat(settings, sender, "Start it with `coproduce serve` (it takes about half a minute), "
                            "then try again.")


def _chat(settings: Settings, sender: Optional[str], advice: str) -> None:
    """Run the terminal chat; an assistant that does not answer is one clear line."""
    from bot.chat import run_chat
    from bot.rest_client import RasaUnavailable

    try:
        run_chat(settings, sender=sender)
    except RasaUnavailable as exc:
        log.debug("Rasa did not answer: %s", exc)
        raise UserError(f"The assistant is not answering at {settings.rasa_url}. {advice}") from None


@main.command()
@click.pass_obj
def run(settings: Settings) -> None:
    """Prepare everything, start the servers and the web chat, open the terminal chat."""
    _stop_on_sigterm()  # from the start: a stop while training or starting leaves nothing behind
    try:
        model = _prepare(settings)
        servers = _start_servers(settings, model, web=True)
    except KeyboardInterrupt:
        raise UserError("Stopped before the assistant was ready.") from None
    click.echo(click.style(f"The web chat is open at http://{settings.web_host}:{settings.web_port}/",
                           bold=True))
    if settings.telegram_bot_token:
        click.echo("The Telegram bot is running too (TELEGRAM_BOT_TOKEN is set).")
    try:
        if sys.stdin is not None and sys.stdin.isatty():
            click.echo("You can also chat here in the terminal.")
            threading.Thread(target=_watch_beside_the_chat, args=(servers,), daemon=True,
                             name="watch-servers").start()
            _chat(settings, None, f"See the logs in {servers.log_dir}.")
        else:  # started by a script or a service manager: serve until told to stop
            click.echo("No terminal to chat in: the assistant keeps running until stopped "
                       "(Ctrl-C or SIGTERM).")
            _wait_until_stopped(servers)
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
        click.echo("Stopped. Everything you said is kept. Run `make run` to carry on.")


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops the assistant as Ctrl-C does. Once: a second
    SIGTERM (make passes its own on to `make run`'s command when its group is sent one) must
    not cut the stop short, which ended in "Aborted!" and exit status 1."""
    def interrupt(*_):
        signal.signal(signal.SIGTERM, lambda *_: None)
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, interrupt)


def _wait_until_stopped(servers, stopped: Callable[[], bool] = lambda: False) -> None:
    """Until stopped (or Ctrl-C or SIGTERM, which raise KeyboardInterrupt here): start again any
    server that stopped by itself (a crash, a kill), saying so on stderr. One that keeps stopping
    ends the wait with one clear line."""
    from bot.servers import ServerError

    while not stopped():
        time.sleep(WATCH_EVERY)
        try:
            servers.restart_stopped()  # each restart is logged (stderr)
        except ServerError as exc:
            raise UserError(str(exc)) from None


def _watch_beside_the_chat(servers) -> None:
    """_wait_until_stopped in a thread while the terminal chat runs; a server that keeps
    stopping ends the chat as SIGTERM does (servers stopped, one clear line)."""
    try:
        _wait_until_stopped(servers)
    except UserError as error:
        error.show()
        os.kill(os.getpid(), signal.SIGTERM)


@main.command()
@click.option("--older-than", "older_than", default=None,
              help="Age such as 365d or 52w (default: COPRODUCE_RETENTION_DAYS, 365 days).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@by_option
@click.pass_obj
def purge(settings: Settings, older_than, dry_run: bool, actor) -> None:
    """Remove data older than the retention period; safeguarding records are kept."""
    from datetime import timedelta

    from bot.app import build_services
    from bot.store.tracker import delete_older_than, tracker_engine

    given = older_than is not None  # an empty --older-than is a mistake, not the default
    days = _days(older_than) if given else settings.retention_days
    if not 1 <= days <= MAX_AGE_DAYS:  # further back than dates go, or no age at all
        error = click.UsageError if given else UserError  # an argument, or a setting
        where = "--older-than" if given else "COPRODUCE_RETENTION_DAYS"
        raise error(f"{where} must be from 1 to {MAX_AGE_DAYS} days (1,000 years), "
                    f"not {older_than if given else days}.")
    services = build_services(settings, existing_database=True)
    events_engine = tracker_engine(settings)
    result = services.data_rights.purge(
        timedelta(days=days), dry_run=dry_run, actor=actor,
        delete_old_events=lambda cutoff, dry: delete_older_than(events_engine, cutoff, dry))
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb}: {counted(result.participants, 'participant')}, "
               f"{counted(result.answers_deleted, 'answer')}, "
               f"{counted(result.events, 'chat event')} older than {days} days.")
    if result.participants_held:
        kept = "Would keep" if dry_run else "Kept"
        held = counted(result.answers_held, 'answer')
        if result.messages_held:  # said outside the questions, and still waiting for the lead
            held += f" and {counted(result.messages_held, 'other message')}"
        click.echo(f"{kept} for the safeguarding lead: {held} "
                   f"from {counted(result.participants_held, 'participant')} (the rest of their "
                   f"data {'would go' if dry_run else 'is gone'}; see `coproduce safeguarding "
                   "list`).")


def _days(text: str) -> int:
    """Days in an age such as 365d, 52w or 30 (days)."""
    text = text.strip().lower()
    units = {"d": 1, "w": 7, "y": 365}
    try:
        if text[-1] in units:
            value = int(text[:-1]) * units[text[-1]]
        else:
            value = int(text)
    except (ValueError, IndexError):
        raise click.UsageError(f"--older-than must look like 365d, 52w or 1y, not {text!r}.")
    return value


MAX_AGE_DAYS = 1000 * 365


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
