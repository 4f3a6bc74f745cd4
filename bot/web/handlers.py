"""The web chat's request handlers: the page, sending a message, audio, files and page looks."""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
from typing import List, Optional, Tuple

import requests
from aiohttp import web

from bot.rest_client import RasaUnavailable
from bot.web import security
from bot.web.history import EVENTS_PER_ENTRY, rebuild
from bot.web.render import (LOOKS, NO_STORE, entry_json, looks_of, new_message_id,
                            notice_audio_url, render_page, set_looks_cookie)
from bot.web.state import CHAT, WebChat
from bot.web.transcript import Entry, Transcript
from bot.web.words import NOTICES

log = logging.getLogger(__name__)

GREETING = "/greet"
_MESSAGE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclasses.dataclass
class Visitor:
    """The participant behind a request: their session token, Rasa sender and transcript."""

    token: str
    is_new: bool
    sender: str
    transcript: Transcript
    csrf: str

    @classmethod
    def of(cls, request: web.Request) -> "Visitor":
        """The visitor for this request; a device without a valid cookie gets a new session."""
        chat = request.app[CHAT]
        token = security.session_token(request)
        is_new = token is None
        token = token or security.new_session_token()
        sender = security.sender_for(chat.pseudonymizer, token)
        return cls(token, is_new, sender, chat.transcripts.get(sender),
                   security.csrf_token(chat.pseudonymizer, token))

    def finish(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        """Give a new device its session cookie with the response."""
        if self.is_new:
            security.set_session_cookie(response, self.token, secure=request.secure)
        return response


async def page(request: web.Request) -> web.StreamResponse:
    """Show the chat so far (read back from Rasa after a restart); a first visit says hello."""
    chat, visitor = request.app[CHAT], Visitor.of(request)
    # The script came back here after an old button was refused: say why the page changed.
    notice = chat.words.old_button if request.query.get("old") == "1" and not visitor.is_new else ""
    async with visitor.transcript.lock:
        if not visitor.is_new:
            await read_back(chat, visitor.sender, visitor.transcript)
        if not visitor.transcript:
            _, notice = await exchange(chat, visitor, GREETING, said=None, message_id=None)
    return visitor.finish(request, render_page(chat, request, visitor.transcript,
                                               csrf=visitor.csrf, notice=notice))


async def send(request: web.Request) -> web.StreamResponse:
    """Send typed words or a pressed button to Rasa; the page shows the replies."""
    chat, visitor = request.app[CHAT], Visitor.of(request)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return answer(request, visitor, status=413, notice=chat.words.too_long)
    text = str(form.get("text", "")).strip()
    payload = str(form.get("payload", "")).strip()
    message_id = str(form.get("message_id", ""))
    message_id = message_id if _MESSAGE_ID.match(message_id) else new_message_id()
    turn = str(form.get("turn", ""))  # which exchange a pressed button belongs to
    # One of the page's own buttons (Help, Say that again ...): good at every step, so it
    # carries no turn and is never refused as old.
    control = str(form.get("control", "")).strip()
    kept = dict(kept=text, message_id=message_id)
    offered = str(form.get("csrf", "")) or request.headers.get("X-CSRF-Token", "")
    if not (security.same_origin(request)
            and security.csrf_ok(chat.pseudonymizer, None if visitor.is_new else visitor.token,
                                 offered)):
        log.warning("Refused a web chat post without a valid form token")
        return answer(request, visitor, status=403, notice=chat.words.send_failed, **kept)
    title = chat.words.control_title(control) if control else None
    if control and title is None:
        return answer(request, visitor, status=400, notice=chat.words.send_failed,
                      message_id=message_id)
    message = control or payload or text
    if not message:
        return answer(request, visitor, status=400, notice=chat.words.no_words,
                      message_id=message_id)
    if len(text) > chat.max_chars:
        return answer(request, visitor, status=413, notice=chat.words.too_long, **kept)
    async with visitor.transcript.lock:  # a second copy of a post waits here, then is seen
        if not visitor.is_new:  # a page open before a restart keeps working
            await read_back(chat, visitor.sender, visitor.transcript)
        if not (control or payload) and chat.is_old_button(visitor.transcript, turn) \
                and visitor.transcript.repeat_of(message_id, message) is None:
            return behind(request, visitor, turn, **kept)
        return await send_once(request, visitor, message, is_button=bool(control or payload),
                               message_id=message_id, turn=turn, title=title)


async def send_once(request: web.Request, visitor: Visitor, message: str, *, is_button: bool,
                    message_id: str, turn: str = "",
                    title: Optional[str] = None) -> web.StreamResponse:
    """Send a message to Rasa once; a repeated post of it (a double click) just shows the chat,
    and a button from an earlier exchange (a second tab, an old page) the chat as it is now.
    title: the words of one of the page's own buttons (never old, never offered by Rasa)."""
    chat, transcript = request.app[CHAT], visitor.transcript
    earlier = transcript.repeat_of(message_id, message)
    if earlier is not None:
        log.info("A web chat post came twice; Rasa got it once")
        return answer(request, visitor, entries=earlier)
    if is_button and title is None and chat.is_old_button(transcript, turn):
        log.info("Refused a button from an earlier exchange of the web chat")
        return answer(request, visitor, status=409, notice=chat.words.old_button, stale=True)
    said = title or (transcript.title_for(message) if is_button else message)
    if said is None:
        return answer(request, visitor, status=400, notice=chat.words.send_failed)
    if transcript.id_was_sent(message_id):
        message_id = new_message_id()  # an old page reused its id for new words: keep them
    entries, notice = await exchange(chat, visitor, message, said=said, message_id=message_id)
    if notice:
        kept = "" if is_button else message
        return answer(request, visitor, status=503, notice=notice, kept=kept,
                      message_id=message_id)
    transcript.remember_sent(message_id, message)
    return answer(request, visitor, entries=entries)


def behind(request: web.Request, visitor: Visitor, turn: str, *, kept: str,
           message_id: str) -> web.StreamResponse:
    """Words typed on a page the chat has moved on from (in another tab) are kept in the box, not
    sent: they would answer a question the participant has not seen. The page is shown as it is."""
    log.info("Kept words typed on a web chat page that was behind the chat")
    number = turn.partition(":")[2]
    missed = visitor.transcript.entries_after(int(number) if number.isdigit() else 0)
    return answer(request, visitor, status=409, notice=request.app[CHAT].words.chat_moved,
                  entries=missed, kept=kept, message_id=message_id)


async def audio(request: web.Request) -> web.StreamResponse:
    """One of the assistant's messages read aloud, as MP3, for the page that showed it."""
    chat = request.app[CHAT]
    sender, transcript = own_transcript(request)
    if sender and not transcript and (transcript is None or not transcript.read_back):
        # A page open before a restart (maybe after a notice that read nothing back): read
        # the chat back first.
        transcript = transcript if transcript is not None else chat.transcripts.get(sender)
        async with transcript.lock:
            await read_back(chat, sender, transcript)
    entry = transcript.spoken_entry(request.match_info["sound"]) if transcript else None
    if entry is None or not entry.text:
        raise web.HTTPNotFound(text=chat.words.audio_failed)
    try:
        sound = await chat.synthesize(entry.text, sender)
    except Exception:  # a voice that breaks must not break the page
        log.exception("Could not read a message aloud")
        sound = None
    if sound is None:
        raise web.HTTPServiceUnavailable(text=chat.words.audio_failed)
    if transcript.spoken_entry(entry.sound) is None:  # erased while it was being read
        raise web.HTTPNotFound(text=chat.words.audio_failed)
    # A message with the participant's own words is not kept by the browser: an erasure
    # must leave no copy of it on the device.
    cache = "private, max-age=86400" if chat.audio_is_shared(entry.text) else "no-store"
    return web.FileResponse(sound.mp3, headers={"Content-Type": "audio/mpeg",
                                                "Cache-Control": cache})


async def notice_audio(request: web.Request) -> web.StreamResponse:
    """One of the page's notices read aloud, as MP3: the same words for everyone."""
    chat = request.app[CHAT]
    field = request.match_info["field"]
    if field not in NOTICES:
        raise web.HTTPNotFound(text=chat.words.audio_failed)
    try:
        sound = await chat.synthesize(getattr(chat.words, field), None)
    except Exception:  # a voice that breaks must not break the page
        log.exception("Could not read a notice aloud")
        sound = None
    if sound is None:
        raise web.HTTPServiceUnavailable(text=chat.words.audio_failed)
    return web.FileResponse(sound.mp3, headers={"Content-Type": "audio/mpeg",
                                                "Cache-Control": "private, max-age=86400"})


async def saved_file(request: web.Request) -> web.StreamResponse:
    """A file the assistant gave this session, such as the participant's record; others get 404."""
    chat = request.app[CHAT]
    _, transcript = own_transcript(request)
    saved = transcript.saved_file(request.match_info["file_id"]) if transcript else None
    if saved is None:  # another session's file, a guess, or gone after a restart: all look alike
        raise web.HTTPNotFound(text=chat.words.file_gone, headers=NO_STORE)
    return web.Response(body=saved.content, content_type=saved.media_type,  # JSON is UTF-8
                        headers={"Content-Disposition": f'attachment; filename="{saved.filename}"',
                                 **NO_STORE})


def own_transcript(request: web.Request) -> Tuple[Optional[str], Optional[Transcript]]:
    """The sender and transcript of the session whose cookie came with the request, if any."""
    chat = request.app[CHAT]
    token = security.session_token(request)
    sender = security.sender_for(chat.pseudonymizer, token) if token else None
    return sender, chat.transcripts.find(sender) if sender else None


async def preferences(request: web.Request) -> web.StreamResponse:
    """Switch bigger text or yellow on black on or off without JavaScript, then show the page."""
    chat, visitor = request.app[CHAT], Visitor.of(request)
    form = await request.post()
    if not (security.same_origin(request) and not visitor.is_new
            and security.csrf_ok(chat.pseudonymizer, visitor.token, str(form.get("csrf", "")))):
        return answer(request, visitor, status=403, notice=chat.words.send_failed)
    looks = set(looks_of(request)) ^ ({str(form.get("toggle"))} & set(LOOKS))
    response = web.Response(status=303, headers={"Location": "/", **NO_STORE})
    set_looks_cookie(response, looks)
    return visitor.finish(request, response)


async def health(request: web.Request) -> web.Response:
    """Say that the web chat is running (Rasa may still be resting)."""
    return web.Response(text="ok")


async def read_back(chat: WebChat, sender: str, transcript: Transcript) -> None:
    """Once per transcript, show a returning visitor their conversation as Rasa kept it."""
    if transcript or transcript.read_back:
        return
    transcript.read_back = True
    read = functools.partial(chat.history.messages, sender,
                             limit=EVENTS_PER_ENTRY * transcript.entries.maxlen)
    events = await asyncio.get_running_loop().run_in_executor(None, read)
    rebuild(transcript, events, greeting=GREETING)
    chat.warm([entry for entry in transcript.entries if transcript.is_latest(entry)], sender)


async def exchange(chat: WebChat, visitor: Visitor, message: str, *, said: Optional[str],
                   message_id: Optional[str]) -> Tuple[List[Entry], str]:
    """Send one message to Rasa; return the new entries, or a kind notice when that failed."""
    loop = asyncio.get_running_loop()
    try:
        replies = await loop.run_in_executor(None, chat.rasa.send, visitor.sender, message,
                                             message_id)
    except RasaUnavailable as error:
        log.warning("Rasa did not answer the web chat: %s", error)
        return [], chat.words.resting
    except (requests.RequestException, ValueError) as error:
        log.warning("Rasa refused a web chat message: %s", error)
        return [], chat.words.send_failed
    entries = visitor.transcript.add_exchange(said, replies)
    if visitor.transcript.erased_turn == visitor.transcript.turn:
        log.info("A web participant's data was erased: the chat shows none of it now")
        chat.forget_audio(visitor.sender)
    chat.warm(entries, visitor.sender)
    return entries, ""


def answer(request: web.Request, visitor: Visitor, *, status: int = 200, notice: str = "",
           entries: Optional[List[Entry]] = None, kept: str = "",
           message_id: str = "", stale: bool = False) -> web.StreamResponse:
    """JSON for the page's script; without it the page itself, or a redirect after success.
    stale: the page is behind the chat (its script loads the page again, with the notice)."""
    chat = request.app[CHAT]
    if "application/json" in request.headers.get("Accept", ""):
        body = {"ok": not notice, "notice": notice, "csrf": visitor.csrf, "stale": stale,
                "turn": chat.button_turn(visitor.transcript),
                "notice_audio": notice_audio_url(chat, notice),
                "message_id": message_id if notice else new_message_id(),
                # The script replaces the messages on the page instead of adding to them.
                "erased": visitor.transcript.was_erased_by(entries or []),
                "entries": [entry_json(entry, visitor.transcript, chat.button_turn(visitor.transcript))
                            for entry in entries or []]}
        return visitor.finish(request, web.json_response(body, status=status, headers=NO_STORE))
    if notice:
        return visitor.finish(request, render_page(
            chat, request, visitor.transcript, csrf=visitor.csrf, notice=notice, kept=kept,
            message_id=message_id, status=status))
    return visitor.finish(request, web.Response(status=303, headers={"Location": "/#latest",
                                                                      **NO_STORE}))
