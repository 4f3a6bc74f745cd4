"""Build the Telegram application from settings and services, and run it (polling or webhook)."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Optional

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Application

from bot.app import Services
from bot.settings import Settings
from bot.store.tracker import TrackerReader
from bot.telegram.handlers import add_handlers
from bot.telegram.http import AiohttpRequest
from bot.telegram.outbox import Outbox
from bot.telegram.rasa import RasaChannel
from bot.telegram.relay import Relay
from bot.telegram.seen import SeenGuard
from bot.telegram.state import TelegramState
from bot.telegram.updates import TolerantBot
from bot.telegram.words import COMMANDS, Wording

log = logging.getLogger(__name__)

SEEN_DAYS = 30  # handled updates and used keyboards are remembered this long
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
FLOOD_RETRIES = 5  # times a request is tried again after Telegram's "429 Too Many Requests"
MISSING_TOKEN = ("TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and set "
                 "TELEGRAM_BOT_TOKEN.")


class TelegramSetupError(RuntimeError):
    """The bot cannot start; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates (url) and where this process listens for them."""

    url: str
    secret_token: str
    listen: str = "127.0.0.1"
    port: int = 8443


def api_urls(base_url: str) -> tuple:
    """Bot API and file URLs for a server root such as http://127.0.0.1:8081 (for base_url)."""
    root = base_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


def build_application(settings: Settings, services: Services, *, speech=None,
                      domain_path: Optional[Path] = None, rasa=None,
                      patience: float = 900.0, rate_limit: bool = True) -> Application:
    """The bot, wired to Rasa, the store and speech; raises TelegramSetupError on bad settings."""
    if not settings.telegram_bot_token:
        raise TelegramSetupError(MISSING_TOKEN)
    wording = Wording(domain_path or Path(settings.project_root) / "domain.yml")
    missing = wording.missing()
    if missing:
        raise TelegramSetupError(f"{wording.domain_path} has no response called "
                                 f"{', '.join(missing)}; the Telegram bot needs them.")
    state = TelegramState(services.engine, bot_id=settings.telegram_bot_token.split(":")[0])
    requests = (AiohttpRequest(connection_pool_size=256), AiohttpRequest(connection_pool_size=1))
    urls = {}
    if settings.telegram_base_url:
        urls["base_url"], urls["base_file_url"] = api_urls(settings.telegram_base_url)
    bot = TolerantBot(settings.telegram_bot_token, request=requests[0],
                      get_updates_request=requests[1],
                      rate_limiter=AIORateLimiter(max_retries=FLOOD_RETRIES) if rate_limit else None,
                      **urls)
    application = (Application.builder().bot(bot).job_queue(None)
                   .concurrent_updates(False)  # handlers only queue work; order per chat matters
                   .build())
    outbox = Outbox(application.bot, state, speech=speech,
                    sound_preference=services.conversation.sound_preference)
    tracker = TrackerReader(settings)  # what Rasa answered before a crash (Relay.resume)
    relay = Relay(rasa or RasaChannel(settings.rasa_url), outbox, wording, patience=patience,
                  store=state, answered=tracker.replies_to,
                  keep_contact=lambda sender, chat: services.conversation.set_contact(
                      sender, channel="telegram", address=chat))
    application.bot_data.update(state=state, outbox=outbox, relay=relay, wording=wording,
                                tracker=tracker,
                                seen=SeenGuard(state, outbox.background), requests=requests,
                                pseudonymizer=services.pseudonymizer)
    add_handlers(application)
    return application


async def register_commands(application: Application) -> None:
    """Show the menu commands in Telegram, each described in the domain's words."""
    wording = application.bot_data["wording"]
    commands = [BotCommand(name, wording.text(described))
                for name, (_, described) in COMMANDS.items()]
    await application.bot_data["outbox"].deliver(
        lambda: application.bot.set_my_commands(commands), "the menu commands")


async def run_bot(application: Application, stop: asyncio.Event,
                  webhook: Optional[Webhook] = None) -> None:
    """Run until `stop` is set: long polling by default, or Telegram posting to a webhook."""
    try:
        async with application:  # getMe: a bad token or an unreachable server fails here
            await _serve(application, stop, webhook)
    finally:
        for request in application.bot_data["requests"]:  # PTB skips this if getMe failed
            await request.shutdown()


async def _serve(application: Application, stop: asyncio.Event, webhook: Optional[Webhook]) -> None:
    """Take updates until `stop` is set, then stop in order."""
    from bot.telegram.webhook import start_webhook

    await register_commands(application)
    await asyncio.to_thread(application.bot_data["state"].forget_seen_before, SEEN_DAYS)
    await application.start()
    # Messages left in the store by a stop (Rasa resting) or a crash, before any new update:
    # a chat's resumed messages go to Rasa before its new ones.
    await application.bot_data["relay"].resume()
    if webhook is None:
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        server = None
    else:
        server = await start_webhook(application, webhook, ALLOWED_UPDATES)
    log.info("The Telegram bot is running (%s)", "webhook" if webhook else "polling")
    try:
        await stop.wait()
    finally:
        await _stop(application, server)


async def _stop(application: Application, server) -> None:
    """Stop taking updates, finish or keep the queued messages, then stop the bot."""
    if server is not None:
        await server.cleanup()
    elif application.updater.running:
        await application.updater.stop()
    await application.stop()
    await application.bot_data["relay"].close()
    await application.bot_data["seen"].close()
    await application.bot_data["outbox"].close()
    await asyncio.to_thread(application.bot_data["tracker"].close)
