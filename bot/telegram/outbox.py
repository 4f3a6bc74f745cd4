"""Everything the bot sends to Telegram: text and files first, voice notes after, retried."""
from __future__ import annotations

import asyncio
import collections
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable, Dict, List, Optional, Sequence, Set, TypeVar

from telegram import Bot, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot.telegram.keyboards import Keyboards
from bot.telegram.render import Document, Outgoing, outgoing_messages
from bot.telegram.state import TelegramState
from bot.wording import spoken_words

log = logging.getLogger(__name__)
T = TypeVar("T")

# The language domain.yml is written in; `coproduce speech warm` renders it in the same one.
SPEECH_LANGUAGE = "en"
# Waits between tries after a network error: about a minute in all, then we give up loudly.
NETWORK_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


class Outbox:
    """Sends messages, keyboards and voice notes to chats, with retries and one upload per audio."""

    def __init__(self, bot: Bot, state: TelegramState, *, speech=None,
                 sound_preference: Optional[Callable[[str], Optional[bool]]] = None,
                 network_delays: Sequence[float] = NETWORK_DELAYS):
        self.bot = bot
        self._state = state
        self._speech = speech
        self._sound_preference = sound_preference
        self._delays = tuple(network_delays)
        self._file_ids: Dict[str, str] = {}
        self._upload_locks: Dict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self._voice_tails: Dict[int, asyncio.Task] = {}
        self._tasks: Set[asyncio.Task] = set()
        self._speech_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="speech")
        self.counts: collections.Counter = collections.Counter()
        self.keyboards = Keyboards(bot, state, self.deliver, self.background)

    async def send_replies(self, chat_id: int, sender: str, replies: Sequence[dict], *,
                           skip: int = 0, on_sent: Optional[Callable[[int], None]] = None) -> None:
        """Send Rasa's replies (text and files) now; voice notes follow if sound is on.

        skip: how many of the messages were shown before a restart (all of them: nothing is
        sent again, voice notes neither); on_sent(n) is told after each that n are shown."""
        messages = outgoing_messages(replies)
        if messages and skip >= len(messages):
            return
        erased = any(isinstance(reply.get("custom"), dict) and reply["custom"].get("erased")
                     for reply in replies)
        if erased or any(isinstance(message, Outgoing) and message.buttons
                         for message in messages[skip:]):
            # New buttons replace any still showing; after an erasure no old button is live.
            self.keyboards.retire(chat_id)
        for number, message in enumerate(messages[skip:], start=skip + 1):
            if isinstance(message, Document):
                await self.send_document(chat_id, message)
            else:
                await self.send_text(chat_id, message)
            if on_sent is not None:
                on_sent(number)
        self.read_aloud(chat_id, sender,
                        [spoken_words(r) for r in replies if (r.get("text") or "").strip()],
                        sound=_sound_choice(replies))

    async def send_text(self, chat_id: int, message: Outgoing) -> Optional[Message]:
        """Send one text message, with its buttons as an inline keyboard."""
        markup = await self.keyboards.markup(message.buttons)
        try:
            sent = await self.deliver(lambda: self.bot.send_message(
                chat_id, message.text, reply_markup=markup), "a message")
        except BadRequest as exc:
            self.counts["refused"] += 1
            log.error("Telegram refused a message: %s", exc)
            return None
        if sent is not None:
            self.keyboards.shown(chat_id, sent.message_id, markup)
        return sent

    async def send_document(self, chat_id: int, document: Document) -> Optional[Message]:
        """Send a file, such as the participant's own record, as a Telegram document."""
        try:
            return await self.deliver(lambda: self.bot.send_document(
                chat_id, document.content, filename=document.filename), "a file")
        except BadRequest as exc:  # e.g. too big; its words went out before it
            self.counts["refused"] += 1
            log.error("Telegram refused a file: %s", exc)
            return None

    def answer_button(self, query_id: str) -> None:
        """Stop the spinner on a pressed button, in the background."""
        async def answer() -> None:
            try:
                await self.deliver(lambda: self.bot.answer_callback_query(query_id),
                                   "a button answer")
            except BadRequest as exc:  # too old to answer: the press still counts
                log.debug("Telegram refused to answer a button: %s", exc)

        self.background(answer(), "answering a button")

    async def show_typing(self, chat_id: int) -> None:
        """Show "typing" once; a failure here matters to nobody."""
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except Exception as exc:  # noqa: BLE001 - cosmetic only
            log.debug("Could not show typing: %s", exc)

    def read_aloud(self, chat_id: int, sender: str, texts: List[str],
                   sound: Optional[bool] = None) -> None:
        """Send the texts as voice notes after any earlier ones, unless the participant chose no
        sound (`sound`: the choice as the replies gave it, when the store no longer has it)."""
        if self._speech is None or self._sound_preference is None or not texts:
            return
        task = self.background(self._read_aloud(chat_id, sender, texts,
                                                self._voice_tails.get(chat_id), sound),
                               "voice notes")
        self._voice_tails[chat_id] = task
        task.add_done_callback(lambda done: self._voice_tails.pop(chat_id, None)
                               if self._voice_tails.get(chat_id) is done else None)

    async def _read_aloud(self, chat_id: int, sender: str, texts: List[str],
                          previous: Optional[asyncio.Task], sound: Optional[bool] = None) -> None:
        if sound is None:
            sound = await asyncio.to_thread(self._sound_preference, sender)
        if sound is None:
            # No choice yet: read aloud, so someone who cannot read hears the offer of sound
            # (and anything said before they choose). A voice note never plays by itself.
            # Only in a private chat: Telegram gives groups negative ids.
            sound = chat_id > 0
        if not sound:
            return
        loop = asyncio.get_running_loop()
        renders = [loop.run_in_executor(self._speech_pool, self._speech.synthesize, text,
                                        SPEECH_LANGUAGE, sender) for text in texts]
        if previous is not None:
            await asyncio.wait([previous])  # voice notes keep the order of their texts
        for render in renders:
            try:
                audio = await render
            except Exception:  # noqa: BLE001 - the text went out; a voice is a bonus
                log.exception("Could not read a message aloud")
                continue
            if audio is not None:
                await self.send_voice(chat_id, audio)

    async def send_voice(self, chat_id: int, audio) -> Optional[Message]:
        """Send a voice note, uploading each audio file to Telegram only once."""
        key = audio.ogg.stem
        sent = await self._send_known_voice(chat_id, key)
        if sent is not None:
            return sent
        async with self._upload_locks[key]:  # one upload per file, even for many chats at once
            sent = await self._send_known_voice(chat_id, key)
            if sent is not None:
                return sent
            data = await asyncio.to_thread(audio.ogg.read_bytes)
            try:
                sent = await self.deliver(lambda: self.bot.send_voice(
                    chat_id, data, filename="message.ogg"), "a voice note")
            except BadRequest as exc:  # the text went out; this voice note cannot
                log.error("Telegram refused a voice note: %s", exc)
                return None
            if sent is not None and sent.voice is not None:
                self.counts["voice_uploaded"] += 1
                self._file_ids[key] = sent.voice.file_id
                await asyncio.to_thread(self._state.remember_file_id, key, sent.voice.file_id)
            return sent

    async def _send_known_voice(self, chat_id: int, key: str) -> Optional[Message]:
        file_id = self._file_ids.get(key) or await asyncio.to_thread(self._state.file_id, key)
        if not file_id:
            return None
        try:
            sent = await self.deliver(lambda: self.bot.send_voice(chat_id, file_id), "a voice note")
        except BadRequest as exc:  # e.g. a new bot token: that file_id is gone
            log.warning("Telegram refused a saved voice note (%s); uploading it again", exc)
            self._file_ids.pop(key, None)
            await asyncio.to_thread(self._state.forget_file_id, key)
            return None
        self._file_ids[key] = file_id
        self.counts["voice_by_file_id"] += 1
        return sent

    async def deliver(self, call: Callable[[], Awaitable[T]], what: str) -> Optional[T]:
        """Make a Bot API call, waiting out flood control and retrying network errors.

        Returns None, after logging an error, when Telegram cannot be reached or the participant
        blocked the bot; raises BadRequest, which no retry can fix.
        """
        for attempt, delay in enumerate((0.0,) + self._delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                result = await call()
                self.counts["delivered"] += 1
                return result
            except RetryAfter as exc:  # the rate limiter gave up waiting; wait once more
                await asyncio.sleep(_seconds(exc.retry_after) + 0.1)
            except (Forbidden, InvalidToken) as exc:
                self.counts["refused"] += 1
                log.error("Telegram refused %s: %s", what, exc)
                return None
            except BadRequest:
                raise
            except NetworkError as exc:  # includes TimedOut
                log.warning("Could not send %s (try %d): %s", what, attempt + 1, exc)
        self.counts["undelivered"] += 1
        log.error("Gave up sending %s after %d tries; Telegram could not be reached",
                  what, len(self._delays) + 1)
        return None

    def background(self, coroutine: Awaitable, what: str) -> asyncio.Task:
        """Run a send in the background, keeping a reference so it finishes and its errors show."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def finished(done: asyncio.Task) -> None:
            self._tasks.discard(done)
            if not done.cancelled() and done.exception() is not None:
                log.error("Failed while %s", what, exc_info=done.exception())

        task.add_done_callback(finished)
        return task

    async def close(self, grace: float = 10.0) -> None:
        """Let background sends finish (up to `grace` seconds), then stop the speech threads."""
        if self._tasks:
            done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
        self._speech_pool.shutdown(wait=False, cancel_futures=True)


def _sound_choice(replies: Sequence[dict]) -> Optional[bool]:
    """The participant's sound choice when a reply carries it (`custom.sound`, sent with an
    erasure, after which the store no longer knows it), else None."""
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("sound"), bool):
            return custom["sound"]
    return None


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
