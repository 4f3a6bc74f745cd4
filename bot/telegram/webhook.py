"""The webhook receiver: Telegram posts updates here, each checked against the secret token."""
from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
APPLICATION = web.AppKey("application", Application)
SECRET_TOKEN = web.AppKey("secret_token", str)


async def start_webhook(application: Application, webhook, allowed_updates) -> web.AppRunner:
    """Listen on webhook.listen:port at the URL's path, then tell Telegram to post there."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[APPLICATION] = application
    app[SECRET_TOKEN] = webhook.secret_token
    app.router.add_post(urlsplit(webhook.url).path or "/", receive_update)
    runner = web.AppRunner(app, access_log=None)  # access logs would hold nothing useful
    await runner.setup()
    await web.TCPSite(runner, webhook.listen, webhook.port).start()
    await application.bot.set_webhook(webhook.url, secret_token=webhook.secret_token,
                                      allowed_updates=allowed_updates)
    return runner


async def receive_update(request: web.Request) -> web.Response:
    """Queue one update from Telegram, refusing any request without the secret token."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET_TOKEN].encode()):
        log.warning("Refused a webhook request without the right secret token")
        return web.Response(status=403)
    application = request.app[APPLICATION]
    try:
        update = Update.de_json(await request.json(), application.bot)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.Response(status=400)
    except Exception:  # noqa: BLE001 - Telegram would only send it again: take it and say why
        log.exception("Could not read an update Telegram posted; it was skipped")
        return web.Response()
    await application.update_queue.put(update)
    return web.Response()
