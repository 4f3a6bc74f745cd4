"""Staff commands: `export`, `report`, `actions` (you said, we did) and `notify`."""
from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click

from bot.cli_options import ROW_ID, by_option, counted
from bot.settings import Settings
from bot.staff.actions import MAX_ACTION_CHARS
from bot.staff.exports import FORMATS
from bot.store.models import ACTION_STATUSES

log = logging.getLogger(__name__)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _user_error(message: str) -> click.ClickException:
    from bot.cli_options import UserError

    return UserError(message)


@contextlib.contextmanager
def _services(ctx: click.Context):
    """Services built from the CLI's settings; database problems become one clear line."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import build_services
    from bot.cli_options import operator_problem

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    services = None
    try:
        services = build_services(settings, existing_database=True)
        yield services
    except Exception as error:
        problem = operator_problem(error, ctx)
        if problem is not None:
            raise problem from None
        if isinstance(error, SQLAlchemyError):
            first_line = (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]
            raise _user_error(f"The database could not do that ({first_line}).") from None
        raise
    finally:
        if services is not None:
            services.engine.dispose()


def parse_moment(value: Optional[str], option: str, *,
                 end_of_day: bool = False) -> Optional[datetime]:
    """A --since/--until value as a UTC time; a bare date means the whole of that day."""
    if value is None:
        return None
    try:
        if _DATE.match(value):
            day = datetime.strptime(value, "%Y-%m-%d").date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.UsageError(f"{option} must be a date like 2025-03-01 or a time like "
                               f"2025-03-01T09:30:00Z, not {value!r}.")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# ---- export ---------------------------------------------------------------------------------
@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="File format (default: from the --out file's ending).")
# export_target refuses a folder (and devices, pipes) with one clear line, not click's usage error
@click.option("--out", required=True, type=click.Path(allow_dash=True), metavar="FILE",
              help="The file to write; - for standard output (csv and json).")
@click.option("--theme", "theme_ids", multiple=True, metavar="ID",
              help="Only answers with this theme id (give it again for answers with any of "
                   "several).")
@click.option("--question", "question_ids", multiple=True, metavar="ID",
              help="Only answers to this question id (give it again for any of several).")
@click.option("--since", default=None, help="Only answers from this date or time (UTC).")
@click.option("--until", default=None, help="Only answers up to this date (whole day) or time.")
@click.option("--include-flagged", is_flag=True,
              help="Also export answers flagged for safeguarding (left out by default).")
@by_option
@click.pass_context
def export(ctx: click.Context, fmt, out: str, theme_ids, question_ids, since, until,
           include_flagged: bool, actor: str) -> None:
    """Export answers word for word, one row per answer, to CSV, XLSX or JSON."""
    from bot.staff.exports import STANDARD_OUTPUT, STREAM_FORMATS, export_answers
    from bot.staff.files import ExportTargetError
    from bot.store.staff_queries import AnswerFilter, count_export

    path = None if out == "-" else _export_path(Path(out))
    ending = path.suffix.lower().lstrip(".") if path else ""
    if fmt and ending in FORMATS and ending != fmt:  # a spreadsheet would fail to open it
        raise click.UsageError(f"--out {path.name} ends in .{ending}, but --format is {fmt}: "
                               f"end the file name with .{fmt}, or leave --format out.")
    fmt = fmt or ending
    if path is None and fmt not in STREAM_FORMATS:
        raise click.UsageError(f"Only {' or '.join(STREAM_FORMATS)} can go to standard output "
                               f"(--out -); choose one with --format, or give --out a file name"
                               f"{' for an xlsx file' if fmt == 'xlsx' else ''}.")
    if fmt not in FORMATS:
        raise click.UsageError(f"Choose a format with --format ({', '.join(FORMATS)}), or end "
                               "the --out file name with one of them.")
    answer_filter = AnswerFilter(theme_ids=tuple(dict.fromkeys(theme_ids)),
                                 question_ids=tuple(dict.fromkeys(question_ids)),
                                 since=parse_moment(since, "--since"),
                                 until=parse_moment(until, "--until", end_of_day=True),
                                 include_flagged=include_flagged)
    if answer_filter.since and answer_filter.until and answer_filter.since > answer_filter.until:
        raise click.UsageError("--since is after --until, so nothing would be exported.")
    where = path or STANDARD_OUTPUT
    with _services(ctx) as services:
        engagement = services.engagement
        _check_known(answer_filter.theme_ids, engagement.themes, engagement.theme_by_id, "theme")
        _check_known(answer_filter.question_ids, engagement.questions,
                     engagement.question_by_id, "question")
        with services.sessions() as session, _progress_bar(session, answer_filter,
                                                           count_export) as progress:
            if path is None and progress is None:
                # Standard output gets nothing (not even the CSV header) before the database
                # has answered once: a database without its tables is one error line alone.
                count_export(session, answer_filter=answer_filter)
                session.rollback()
            try:
                result = export_answers(session, engagement, fmt=fmt, out=path,
                                        answer_filter=answer_filter, actor=actor,
                                        progress=progress,
                                        stream=None if path else click.get_binary_stream("stdout"))
            except ExportTargetError as error:  # it changed while the answers were read
                raise _user_error(str(error))
            except OSError as error:
                raise _user_error(f"Could not write {where}: {error.strerror or error}.")
            session.commit()
    # With the answers on standard output, what is said about them goes to standard error.
    click.echo(f"Exported {counted(result.rows, 'answer')} to {where}.", err=path is None)
    if include_flagged:
        click.echo(f"This {'file' if path else 'export'} includes answers flagged for "
                   "safeguarding. Keep it safe.", err=path is None)


def _export_path(out: Path) -> Path:
    """The --out file, checked: its folder exists, and it is not a folder, device or pipe."""
    from bot.staff.files import ExportTargetError, export_target

    if not out.parent.is_dir():
        raise _user_error(f"The folder {out.parent} does not exist.")
    try:
        target = export_target(out)  # where a symbolic link points; never a folder or device
    except ExportTargetError as error:
        raise _user_error(str(error))
    if not target.parent.is_dir():
        raise _user_error(f"{out} points to {target}, whose folder does not exist.")
    return out


def _check_known(ids, known, lookup, kind: str) -> None:
    """Stop with one line naming the ids the engagement does not have, and the ones it has."""
    unknown = [repr(item) for item in ids if lookup(item) is None]
    if unknown:
        raise _user_error(f"Unknown {kind} id{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)}. The {kind}s are: "
                          f"{', '.join(item.id for item in known)}.")


@contextlib.contextmanager
def _progress_bar(session, answer_filter, count_export):
    """A tqdm bar on standard error when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    total = count_export(session, answer_filter=answer_filter)
    session.rollback()  # the export reads its own snapshot from a fresh transaction
    with tqdm(total=total, file=sys.stderr, unit=" answers", desc="Exporting",
              leave=False) as bar:
        yield bar.update


# ---- report ---------------------------------------------------------------------------------
@click.command("report")
@click.option("--out", required=True, type=click.Path(allow_dash=True), metavar="FILE",
              help="The HTML file to write; - for standard output.")
@click.option("--easy-read", is_flag=True, help="The Easy Read version, for participants.")
@by_option
@click.pass_context
def report(ctx: click.Context, out: str, easy_read: bool, actor: str) -> None:
    """Write the report as one HTML file you can email (charts and tables, no links needed)."""
    from bot.staff.exports import STANDARD_OUTPUT
    from bot.staff.files import ExportTargetError
    from bot.staff.report import write_report

    # Checked like an export's --out: its folder exists; a folder, device or pipe is refused.
    path = None if out == "-" else _export_path(Path(out))
    where = path or STANDARD_OUTPUT
    with _services(ctx) as services, services.sessions() as session:
        try:
            data = write_report(session, services.engagement, out=path, actor=actor,
                                easy_read=easy_read,
                                stream=None if path else click.get_binary_stream("stdout"))
        except ExportTargetError as error:  # it changed while the report was made
            raise _user_error(str(error))
        except OSError as error:
            raise _user_error(f"Could not write {where}: {error.strerror or error}.")
        session.commit()
    kind = "Easy Read report" if easy_read else "report"
    click.echo(f"Wrote the {kind} to {where}: {counted(data.people, 'person', 'people')}, "
               f"{counted(data.answers, 'answer')}.", err=path is None)


# ---- you said, we did -----------------------------------------------------------------------
@click.group("actions")
def actions() -> None:
    """You said, we did: what staff do about each theme."""


def _checked_text(ctx, param, value):
    """--text: the action's words, not blank and not too long (a usage error, exit status 2)."""
    from bot.staff.actions import ActionError, check_text

    if value is not None:
        try:
            check_text(value)
        except ActionError as error:
            raise click.UsageError(str(error), ctx=ctx) from None
    return value


@actions.command("add")
@click.option("--theme", "theme_id", required=True, help="The theme id the action is about.")
@click.option("--text", required=True, callback=_checked_text,
              help=f"What you will do or did, in plain words "
                   f"(at most {MAX_ACTION_CHARS} characters).")
@click.option("--status", type=click.Choice(ACTION_STATUSES), default="planned", show_default=True)
@by_option
@click.pass_context
def actions_add(ctx: click.Context, theme_id: str, text: str, status: str, actor: str) -> None:
    """Add an action for a theme."""
    from bot.staff.actions import ActionError, add_action, readability_warning

    with _services(ctx) as services, services.sessions() as session:
        try:
            action, readability = add_action(session, services.engagement, theme_id=theme_id,
                                             text=text, status=status, actor=actor)
        except ActionError as error:
            raise _user_error(str(error))
        session.commit()
    click.echo(f"Added action {action.id} for {action.theme_id} ({action.status}).")
    _warn(readability_warning(readability))


@actions.command("list")
@click.pass_context
def actions_list(ctx: click.Context) -> None:
    """List every action, by theme."""
    from bot.staff.actions import list_actions

    with _services(ctx) as services, services.sessions() as session:
        found = list_actions(session)
    if not found:
        click.echo("No actions yet. Add one with `coproduce actions add`.")
        return
    click.echo(f"{'id':>4}  {'theme':<22} {'status':<8} {'rev':>3}  text")
    for action in found:
        click.echo(f"{action.id:>4}  {action.theme_id:<22} {action.status:<8} "
                   f"{action.revision:>3}  {action.text}")


@actions.command("update")
@click.argument("action_id", type=ROW_ID)
@click.option("--text", default=None, callback=_checked_text,
              help=f"New words for the action (at most {MAX_ACTION_CHARS} characters).")
@click.option("--status", type=click.Choice(ACTION_STATUSES), default=None, help="New status.")
@by_option
@click.pass_context
def actions_update(ctx: click.Context, action_id: int, text, status, actor: str) -> None:
    """Change an action's words or status (participants who want updates hear about it)."""
    from bot.staff.actions import ActionError, readability_warning, update_action

    if text is None and status is None:
        raise click.UsageError("Give --text, --status or both.")
    with _services(ctx) as services, services.sessions() as session:
        try:
            action, changed, readability = update_action(session, action_id=action_id,
                                                         text=text, status=status, actor=actor)
        except ActionError as error:
            raise _user_error(str(error))
        session.commit()
    if changed:
        click.echo(f"Updated action {action.id}: now revision {action.revision} ({action.status}).")
    else:
        click.echo(f"Nothing changed: action {action.id} stays at revision {action.revision}.")
    if text is not None:
        _warn(readability_warning(readability))


def _warn(warning: Optional[str]) -> None:
    if warning:
        click.echo(warning, err=True)


# ---- notify ---------------------------------------------------------------------------------
def _news_voice(settings):
    """Reads news aloud for `notify`, as the chat does (its cache, gTTS then offline voices):
    the OGG/Opus file, or None."""
    made = []

    def say(text: str):
        from bot.speech.service import build_speech_service

        if not made:  # built on first use: a run with nobody who chose sound needs no voice
            made.append(build_speech_service(settings))
        audio = made[0].synthesize(text)
        return audio.ogg if audio is not None else None

    return say


@click.command("notify")
@click.option("--dry-run", is_flag=True, help="Show who would get which message; send nothing.")
@click.option("--resend-unconfirmed", is_flag=True,
              help="Send again the messages an earlier run may not have delivered.")
@click.option("--domain", "domain_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The domain.yml with the update wording (default: the project's).")
@by_option
@click.pass_context
def notify(ctx: click.Context, dry_run: bool, resend_unconfirmed: bool, domain_path, actor) -> None:
    """Send 'you said, we did' news to participants who asked for updates, once per change."""
    from bot.staff.notify import (MissingWording, NotifierUnavailable, OpenedWhenNeeded,
                                  UpdateWording, send_updates)
    from bot.staff.telegram_notifier import TelegramNotifier
    from bot.wording import DomainFileError

    with _services(ctx) as services:
        settings = services.settings
        wording = UpdateWording(domain_path or Path(settings.project_root) / "domain.yml")
        try:
            wording.require()
        except (MissingWording, DomainFileError) as error:
            raise _user_error(str(error))
        try:
            with contextlib.ExitStack() as stack:
                # Telegram is reached (and its token needed) only once a message is ready to go.
                telegram = functools.partial(TelegramNotifier, settings.telegram_bot_token,
                                             settings.telegram_base_url,
                                             speech=_news_voice(settings))
                notifiers = {} if dry_run else OpenedWhenNeeded({"telegram": telegram}, stack)
                result = send_updates(services.sessions, services.engagement, wording, notifiers,
                                      actor=actor, dry_run=dry_run,
                                      resend_unconfirmed=resend_unconfirmed)
        except NotifierUnavailable as error:
            # Nothing was claimed: say how many wait for the channel, read as a dry run reads.
            waiting = send_updates(services.sessions, services.engagement, wording, {},
                                   actor=actor, dry_run=True)
            raise _user_error(f"{error} Nothing was sent: {len(waiting.previews)} update "
                              "message(s) wait, and go at the next run that can send them.")
    _show_notify_result(result, dry_run)
    if dry_run and result.previews and not settings.telegram_bot_token:
        click.echo("TELEGRAM_BOT_TOKEN is not set: a real run could not send these yet.", err=True)


def _grouped(hard_to_read) -> Dict[Tuple[str, ...], List[str]]:
    """The recipients of each list of reading problems, in the order they came."""
    groups: Dict[Tuple[str, ...], List[str]] = {}
    for pseudonym, problems in hard_to_read:
        groups.setdefault(tuple(problems), []).append(pseudonym)
    return groups


def _first_few(pseudonyms: List[str], shown: int = 3) -> str:
    more = len(pseudonyms) - shown
    return ", ".join(pseudonyms[:shown]) + (f" and {more} more" if more > 0 else "")


def _show_notify_result(result, dry_run: bool) -> None:
    if result.earlier_unconfirmed and not result.resent_unconfirmed:
        click.echo(f"{result.earlier_unconfirmed} update message(s) from an earlier run may "
                   "not have arrived, and are not sent again. Check, then use "
                   "--resend-unconfirmed to send them again.")
    elif result.resent_unconfirmed:
        click.echo(f"Sending {result.resent_unconfirmed} unconfirmed update message(s) again.")
    for problems, pseudonyms in _grouped(result.hard_to_read).items():
        # The same update gives every recipient the same problems: say them once.
        to = (f"the message to {pseudonyms[0]}" if len(pseudonyms) == 1 else
              f"the messages to {len(pseudonyms)} participants ({_first_few(pseudonyms)})")
        click.echo(f"Warning: {to} may be hard to read: " + "; ".join(problems), err=True)
    if dry_run:
        for pseudonym, message in result.previews:
            buttons = ", ".join(f"[{title}]" for title, _ in message.buttons)
            click.echo(f"--- to {pseudonym}\n{message.text}\n{buttons}")
        click.echo(f"Dry run: {len(result.previews)} message(s) would be sent.")
        return
    if result.nothing_to_send:
        click.echo("Nothing to send: nobody is waiting for news of these changes.")
        return
    click.echo(f"Sent {len(result.sent)} update message(s).")
    for pseudonym, reason in result.not_delivered:
        click.echo(f"Not delivered to {pseudonym} (will be tried again next time): {reason}")
    for pseudonym, reason in result.unconfirmed:
        click.echo(f"May not have arrived at {pseudonym} (not sent again): {reason}")
    if result.no_channel:
        click.echo(f"{len(result.no_channel)} participant(s) have news but no channel to send "
                   "it on.")
