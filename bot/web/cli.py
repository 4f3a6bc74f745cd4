"""The `coproduce web` command: serve the accessible web chat."""
from __future__ import annotations

import dataclasses
import logging

import click

from bot.settings import Settings

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", envvar="COPRODUCE_WEB_HOST", default=None,
              help="Address to listen on (default: 127.0.0.1).")
@click.option("--port", envvar="COPRODUCE_WEB_PORT", default=None, type=int,
              help="Port to listen on (default: 8000).")
@click.pass_obj
def web(settings: Settings, host, port) -> None:
    """Serve the web chat; Rasa must be running (`coproduce serve`)."""
    from aiohttp import web as aiohttp_web

    from bot.cli_options import UserError
    from bot.servers import port_is_free
    from bot.web.app import build_web_app
    from bot.web.words import MissingWords

    overrides = {key: value for key, value in (("web_host", host), ("web_port", port)) if value}
    settings = dataclasses.replace(settings, **overrides)
    try:
        app = build_web_app(settings)
    except MissingWords as error:
        raise UserError(str(error))

    def cannot_listen(reason: str) -> UserError:
        return UserError(
            f"Could not listen on {settings.web_host}:{settings.web_port} ({reason}). Is the web "
            "chat running already? Choose another port with COPRODUCE_WEB_PORT.")

    # Before aiohttp tries: it logs a traceback of its own when the port is taken.
    if not port_is_free(settings.web_host, settings.web_port):
        raise cannot_listen("address already in use")
    click.echo(f"Web chat: http://{settings.web_host}:{settings.web_port}/ "
               f"(talking to Rasa at {settings.rasa_url}). Press Ctrl-C to stop.")
    try:
        aiohttp_web.run_app(app, host=settings.web_host, port=settings.web_port, print=None,
                            access_log=None)
    except OSError as error:  # taken since the check, or an address that cannot be used
        raise cannot_listen(error.strerror or str(error)) from None
