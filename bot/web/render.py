"""Turn a transcript into the page (HTML, escaped by Jinja) or into JSON for the page's script."""
from __future__ import annotations

import secrets
from typing import AbstractSet, Iterable, List, Optional

from aiohttp import web

from bot.web.state import WebChat
from bot.web.transcript import Entry, Transcript

LOOKS_COOKIE = "coproduce_looks"
LOOKS = ("large", "contrast")
LOOKS_MAX_AGE = 400 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store"}


def new_message_id() -> str:
    """A fresh id for the next message, so a retried send is stored only once."""
    return secrets.token_hex(16)


def looks_of(request: web.Request) -> AbstractSet[str]:
    """The page looks this device chose (bigger text, yellow on black), from its cookie."""
    return frozenset(LOOKS).intersection(request.cookies.get(LOOKS_COOKIE, "").split("."))


def set_looks_cookie(response: web.StreamResponse, looks: Iterable[str]) -> None:
    """Remember the page looks on this device; the page's script writes the same cookie."""
    response.set_cookie(LOOKS_COOKIE, ".".join(sorted(looks)) or "none", max_age=LOOKS_MAX_AGE,
                        path="/", samesite="Lax")


def audio_url(entry: Entry) -> str:
    """Where the page fetches an assistant's message read aloud."""
    return f"/audio/{entry.sound}.mp3"


def notice_audio_url(chat: WebChat, notice: str) -> Optional[str]:
    """Where the page fetches a notice read aloud, or None for a notice that has no audio."""
    field = chat.words.notice_field(notice) if notice else None
    return f"/audio/words/{field}.mp3" if field else None


def file_url(entry: Entry) -> str:
    """Where the page fetches a file the assistant gave, such as the participant's record."""
    return f"/files/{entry.file.id}"


def entry_json(entry: Entry, transcript: Transcript, turn: str = "") -> dict:
    """One message for the page's script; its text is set with textContent, never as HTML.
    turn: what its buttons carry to say which exchange they answer (WebChat.button_turn)."""
    latest = transcript.is_latest(entry)
    return {
        "id": entry.id,
        "speaker": entry.speaker,
        "text": entry.text,
        "audio": audio_url(entry) if entry.from_helper and entry.text else None,
        "choices": [{"title": c.title, "payload": c.payload} for c in entry.choices] if latest else [],
        "turn": turn if latest and entry.choices else "",
        "file": {"url": file_url(entry), "filename": entry.file.filename} if entry.file else None,
    }


def render_page(chat: WebChat, request: web.Request, transcript: Transcript, *, csrf: str,
                notice: str = "", kept: str = "", message_id: str = "",
                status: int = 200) -> web.Response:
    """The whole chat page; every value is escaped by the template's autoescape."""
    entries: List[Entry] = list(transcript.entries)
    first_new = transcript.first_of_latest()
    html = chat.templates.get_template("chat.html").render(
        title=chat.title, words=chat.words, entries=entries, transcript=transcript,
        first_new_id=first_new.id if first_new else "", audio_url=audio_url, file_url=file_url,
        csrf=csrf, turn=chat.button_turn(transcript),
        message_id=message_id or new_message_id(), looks=looks_of(request), notice=notice,
        notice_audio=notice_audio_url(chat, notice),
        kept=kept, max_chars=chat.max_chars, static=chat.static_versions)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status,
                        headers=NO_STORE)
