"""`coproduce telegram`: run the Telegram bot, by long polling or behind a webhook."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import signal
import sys

import click

from bot.settings import Settings

log = logging.getLogger(__name__)


@click.command("telegram")
@click.option("--webhook-url", envvar="TELEGRAM_WEBHOOK_URL", default=None,
              help="Public HTTPS address Telegram posts updates to. Without it the bot polls.")
@click.option("--listen", envvar="TELEGRAM_WEBHOOK_LISTEN", default="127.0.0.1",
              show_default=True, help="Address the webhook server listens on.")
@click.option("--port", envvar="TELEGRAM_WEBHOOK_PORT", default=8443, type=int,
              show_default=True, help="Port the webhook server listens on.")
@click.option("--secret-token", envvar="TELEGRAM_WEBHOOK_SECRET", default=None,
              help="Secret Telegram sends with every update (default: a new random one).")
@click.option("--base-url", envvar="TELEGRAM_BASE_URL", default=None,
              help="Bot API server address, for a self-hosted Bot API server.")
@click.pass_context
def telegram(ctx: click.Context, webhook_url, listen, port, secret_token, base_url) -> None:
    """Run the Telegram bot; it talks to the running Rasa server (start it with `serve`)."""
    from bot.app import build_services
    from bot.cli_options import UserError
    from bot.speech import build_speech_service
    from bot.telegram.app import MISSING_TOKEN, TelegramSetupError, Webhook, build_application

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    if base_url:
        settings = dataclasses.replace(settings, telegram_base_url=base_url)
    if not settings.telegram_bot_token:
        raise UserError(MISSING_TOKEN)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines show the bot token
    webhook = Webhook(webhook_url, secret_token or secrets.token_urlsafe(32), listen, port) \
        if webhook_url else None
    try:
        from sqlalchemy.exc import SQLAlchemyError

        from bot.store.migrate import upgrade

        try:
            upgrade(settings.database_url)  # the transport's tables come from Alembic too
        except SQLAlchemyError as exc:
            raise UserError(f"Could not prepare the database: {exc.__class__.__name__}") from None
        application = build_application(settings, build_services(settings),
                                         speech=build_speech_service(settings))
    except (TelegramSetupError, ValueError) as exc:
        raise UserError(str(exc))
    click.echo(f"Starting the Telegram bot ({'webhook' if webhook else 'polling'}). "
               "Press Ctrl-C to stop.")
    asyncio.run(_run(application, webhook, UserError))
    click.echo("Stopped.")


async def _run(application, webhook, user_error) -> None:
    from telegram.error import InvalidToken, NetworkError

    from bot.telegram.app import run_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_bot(application, stop, webhook)
    except InvalidToken:
        raise user_error("Telegram did not accept TELEGRAM_BOT_TOKEN. Check the token "
                         "from @BotFather.")
    except NetworkError as exc:
        raise user_error(f"Could not reach the Telegram Bot API: {exc}")
    except OSError as exc:  # the webhook port is taken, for example
        raise user_error(f"Could not start the webhook server: {exc}")


if __name__ == "__main__":  # pragma: no cover - `python -m bot.telegram.cli`
    import os

    from bot.logs import configure

    configure(os.environ.get("COPRODUCE_LOG_LEVEL", "WARNING"))  # as `coproduce --log-level`
    sys.exit(telegram())
