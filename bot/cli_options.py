"""Pieces every `coproduce` command group shares: the user-error types, id and name options, input lines."""
from __future__ import annotations

import getpass
import logging
from typing import Iterator, Optional, Tuple

import click
from click.core import ParameterSource

from bot.settings import Settings

log = logging.getLogger(__name__)


class UserError(click.ClickException):
    """A problem the user can fix: printed as one line, exit code 1, no traceback."""

    def show(self, file=None) -> None:
        click.echo(f"coproduce: {self.format_message()}", err=True)


class UsageLine(click.UsageError):
    """A usage error (an argument, option or command that is wrong, missing or unknown) as one
    line naming the command and its help; exit code 2, as click's own.

    For example: coproduce export: Invalid value for '--format': 'pdf' is not one of 'csv',
    'xlsx', 'json'. See 'coproduce export --help'.
    """

    def __init__(self, error: click.UsageError, ctx: Optional[click.Context] = None):
        super().__init__(_one_sentence(error), error.ctx or ctx)

    def show(self, file=None) -> None:
        if self.ctx is None:
            click.echo(f"coproduce: {self.message}", file=file, err=True)
            return
        command = command_path(self.ctx)
        see = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            see = f" See '{command} {self.ctx.help_option_names[0]}'."
        click.echo(f"{command}: {self.message}{see}", file=file, err=True)

    @classmethod
    def of(cls, error: click.UsageError, ctx: Optional[click.Context] = None) -> "UsageLine":
        """The error as a UsageLine (itself if it is one already); ctx: where it happened, when
        the error does not say."""
        return error if isinstance(error, cls) else cls(error, ctx)


def command_path(ctx: click.Context) -> str:
    """The command as typed after `coproduce`, e.g. "coproduce safeguarding resolve" (whatever
    name the program was started by: a test's runner or `python -m bot.cli`)."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or ctx.command.name or "")
        ctx = ctx.parent
    return " ".join(["coproduce", *reversed(names)])


def _one_sentence(error: click.UsageError) -> str:
    """click's message on one line, ending in a full stop (a list of choices is on several)."""
    message = " ".join((error.message if isinstance(error, click.NoSuchOption)
                        else error.format_message()).split())
    if message and message[-1] not in ".?!":
        message += "."
    if isinstance(error, click.NoSuchOption) and error.possibilities:  # click: "--al Did you ..."
        message += f" Did you mean {' or '.join(sorted(error.possibilities))}?"
    return message


# The id of a stored row (an action, an answer, an alert): the databases' 64-bit integers.
class RowId(click.ParamType):
    """An id as staff read it in a list: a whole number from 1 (to 2**63-1, the databases' most),
    refused in plain words ("'abc' is not an id: ids are whole numbers from 1, such as 12.")."""

    name = "integer"
    most = 2**63 - 1

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= self.most:
            return value
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= self.most:
            self.fail(f"{value!r} is not an id: ids are whole numbers from 1, such as 12"
                      f"{' (the list commands show them)' if not text.isdigit() else ''}.",
                      param, ctx)
        return int(text)


ROW_ID = RowId()
ACTOR_MAX_CHARS = 100  # the audit log's and the alerts' column for who did it


def checked_actor(ctx, param, value):
    """The --by option: who did it, for the audit log, 1 to 100 characters (spaces tidied)."""
    if value is None:
        return None
    name = " ".join(str(value).split())
    if not name:
        raise click.BadParameter("give a name; it cannot be blank.", ctx=ctx, param=param)
    if len(name) > ACTOR_MAX_CHARS:
        raise click.BadParameter(f"at most {ACTOR_MAX_CHARS} characters ({len(name)} given).",
                                 ctx=ctx, param=param)
    return name


def checked_note(ctx, param, value):
    """A --note option: the reason for a decision, kept in the record, so it cannot be blank."""
    if value is not None and not value.strip():
        raise click.BadParameter("say what was done or why; it cannot be blank.",
                                 ctx=ctx, param=param)
    return value.strip() if value is not None else None


def default_actor() -> str:
    """The name of the person at the terminal, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def by_option(function):
    """--by NAME for a staff command that writes the audit log (default: the login name)."""
    return click.option("--by", "actor", default=default_actor, show_default="your login name",
                        callback=checked_actor, help="Who is doing this, for the audit log.")(function)


def operator_problem(error: BaseException,
                     ctx: Optional[click.Context] = None) -> Optional[UserError]:
    """A UserError for a database or engagement problem the operator can fix, else None.

    For a database URL that is wrong, a server that cannot be reached, an SQLite file that cannot
    be opened or tables that are missing; any other error (a bug) is left alone.
    """
    from bot.engagement import EngagementError
    from bot.store.db import database_problem

    if isinstance(error, EngagementError):
        return UserError(str(error))
    ctx = ctx or click.get_current_context(silent=True)
    settings = ctx.find_object(Settings) if ctx is not None else None
    setting = "COPRODUCE_DATABASE_URL"
    if ctx is not None and "database_url" in ctx.find_root().params:
        if ctx.find_root().get_parameter_source("database_url") == ParameterSource.COMMANDLINE:
            setting = "--database-url"
    message = database_problem(error, settings.database_url if settings else None, setting)
    if message is None:
        return None
    log.debug("Database problem", exc_info=error)
    return UserError(message)


def counted(number: int, singular: str, plural: str = "") -> str:
    """A count with its noun in the right form: "1 person", "2 people", "0 answers"."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def decode_line(raw: bytes, number: int, where: str = "line") -> str:
    """One line of input as text (a byte-order mark on line 1 is dropped); raise a ClickException
    naming the line if it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{where} {number}: not UTF-8 text") from None


def utf8_lines(stream, where: str = "line") -> Iterator[Tuple[int, str]]:
    """Yield (line number, text) for each line of a binary stream; stop at one that is not UTF-8."""
    for number, raw in enumerate(stream, start=1):
        yield number, decode_line(raw, number, where)
