"""Build the web chat application from settings: routes, collaborators and safety headers."""
from __future__ import annotations

import concurrent.futures
import hashlib
import logging
from pathlib import Path
from typing import Dict, Optional

import jinja2
from aiohttp import web

from bot.rest_client import RestClient
from bot.settings import Settings
from bot.web import handlers
from bot.store.tracker import TrackerReader
from bot.web.security import add_security_headers
from bot.web.state import CHAT, MAX_BODY_BYTES, WebChat
from bot.web.transcript import Transcripts
from bot.web.words import load_page_words

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"


def build_web_app(settings: Settings, services=None, speech=None, *,
                  domain_path: Optional[Path] = None, warm_audio: bool = True) -> web.Application:
    """The web chat as an aiohttp application; pass services or speech to share them."""
    if services is None:
        from bot.app import build_services

        services = build_services(settings)
    if speech is None:
        from bot.speech import build_speech_service

        speech = build_speech_service(settings)
    domain = Path(domain_path or Path(settings.project_root) / "domain.yml")
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    chat = WebChat(
        title=services.engagement.title,
        words=load_page_words(domain),
        pseudonymizer=services.pseudonymizer,
        rasa=RestClient(settings.rasa_url, channel="web"),
        speech=speech,
        transcripts=Transcripts(),
        history=TrackerReader(settings),
        templates=templates,
        static_versions=_static_versions(),
        speech_pool=concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="web-speech"),
        warm_audio=warm_audio,
    )
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[plain_error_pages])
    app[CHAT] = chat
    app.on_response_prepare.append(add_security_headers)
    app.on_cleanup.append(_close)
    app.router.add_get("/", handlers.page)
    app.router.add_post("/send", handlers.send)
    app.router.add_post("/preferences", handlers.preferences)
    app.router.add_get(r"/audio/{sound:[0-9a-f]{16}}.mp3", handlers.audio)
    app.router.add_get(r"/audio/words/{field:[a-z_]+}.mp3", handlers.notice_audio)
    app.router.add_get(r"/files/{file_id:[0-9a-f]{32}}", handlers.saved_file)
    app.router.add_get("/health", handlers.health)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    return app


@web.middleware
async def plain_error_pages(request: web.Request, handler) -> web.StreamResponse:
    """A page in plain words, with a way back to the chat, for an address or a method the web
    chat does not have (aiohttp's own is "404: Not Found")."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as error:
        if error.text != f"{error.status}: {error.reason}":
            raise  # the handler's own words already (an audio clip or a file that has gone)
        chat = request.app[CHAT]
        html = chat.templates.get_template("error.html").render(
            title=chat.title, words=chat.words, static=chat.static_versions)
        allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        return web.Response(status=error.status, text=html, content_type="text/html",
                            headers=allow)


def _static_versions() -> Dict[str, str]:
    # A short hash of each file in its address, so browsers never keep an old script.
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            for path in STATIC_DIR.iterdir() if path.is_file()}


async def _close(app: web.Application) -> None:
    app[CHAT].speech_pool.shutdown(wait=False, cancel_futures=True)
    app[CHAT].rasa.http.close()
    app[CHAT].history.close()

