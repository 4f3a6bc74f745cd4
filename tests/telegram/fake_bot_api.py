"""A fake Telegram Bot API server on 127.0.0.1 (aiohttp, in its own thread) for tests and the bench.

It implements the methods the bot uses (messages, voice notes, files), records every call,
can fail a method on purpose (429 with retry_after, 502), and plays participants who send
messages and press buttons.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import mimetypes
import random
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

BOT_ID = 700000001
TOKEN = f"{BOT_ID}:FAKE-token-for-tests"
JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "chat_id", "message_id", "offset",
               "limit", "timeout", "disable_notification", "drop_pending_updates", "cache_time"}


@dataclasses.dataclass
class Call:
    """One request the bot made: method, decoded parameters, uploaded files (and their names)
    and the answer's status (0 while a long poll is still waiting)."""

    method: str
    params: Dict[str, Any]
    files: Dict[str, bytes]
    status: int
    at: float
    file_names: Dict[str, str] = dataclasses.field(default_factory=dict)


class FakeBotApi:
    """The Bot API as the bot sees it, and the participants' side for the test to drive."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.url = ""
        self.calls: List[Call] = []
        self.commands: List[dict] = []
        self.webhook: Dict[str, Any] = {}
        self.uploads: Dict[str, bytes] = {}  # file_id -> the bytes uploaded (voice notes, files)
        self.messages: Dict[int, Dict[int, dict]] = {}  # chat id -> message id -> message
        self._failures: Dict[str, List[dict]] = {}
        self._slow: Dict[str, List[float]] = {}  # method -> seconds to wait before answering
        self._pending: List[dict] = []  # updates not yet fetched (or to be delivered again)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified whenever a call arrives
        self._ids = itertools.count(1)
        # Telegram starts again from a random id after a quiet week; so does each fake.
        self._update_ids = itertools.count(random.randint(1, 2**30))
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._arrived: Optional[asyncio.Event] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self._closing = False

    # ---- life cycle -------------------------------------------------------------------
    def start(self) -> "FakeBotApi":
        """Start serving on a free port of 127.0.0.1 and return once it listens."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="fake-bot-api")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("The fake Bot API did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._arrived = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        ready.set()
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        """Stop the server and its thread, ending any long poll at once."""
        if self._loop is None:
            return

        async def shutdown():
            self._closing = True
            self._arrived.set()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # ---- the test's controls ----------------------------------------------------------
    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1, times: int = 1,
                  after: int = 0) -> None:
        """Make the next `times` calls of a method fail (429 Too Many Requests, or e.g. 502),
        once `after` calls have succeeded."""
        with self._lock:
            self._failures.setdefault(method, []).extend(
                [None] * after + [{"status": status, "retry_after": retry_after}] * times)

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Make the next `times` calls of a method answer only after `seconds`."""
        with self._lock:
            self._slow.setdefault(method, []).extend([seconds] * times)

    def clear_failures(self, method: str) -> None:
        """Let a method succeed again, whatever failures were still to come."""
        with self._lock:
            self._failures.pop(method, None)

    def push(self, update: dict, *, again: bool = False) -> dict:
        """Queue an update for getUpdates; `again` delivers it even if already confirmed."""
        update.setdefault("update_id", next(self._update_ids))
        with self._lock:
            self._pending.append({"update": update, "again": again})
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._arrived.set)
        return update

    def user(self, user_id: int, *, first_name: str = "Sam", language_code: str = "en") -> "FakeUser":
        """A participant in a private chat with the bot."""
        return FakeUser(self, user_id, first_name, language_code)

    def calls_to(self, method: str, chat_id: Optional[int] = None) -> List[Call]:
        """The recorded calls of one method, optionally for one chat only."""
        with self._lock:
            return [c for c in self.calls if c.method == method
                    and (chat_id is None or c.params.get("chat_id") == chat_id)]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
        """Poll until predicate() is truthy and return its value; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.25))
        raise AssertionError(f"Timed out after {timeout} s waiting for {what or predicate}")

    def next_message_id(self) -> int:
        """A new message id (one sequence for everyone keeps the fake simple)."""
        return next(self._ids)

    # ---- the Bot API ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files, file_names = await _read_params(request)
        call = Call(method, params, files, 0, time.monotonic(), file_names)
        with self._lock:
            self.calls.append(call)  # recorded on arrival, so a long poll shows at once
        if request.match_info["token"] != self.token:
            return self._answer(call, 401, {"ok": False, "error_code": 401,
                                            "description": "Unauthorized"})
        with self._lock:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure:
            return self._answer(call, failure["status"], _failure(failure))
        with self._lock:
            slow = self._slow.get(method)
            wait = slow.pop(0) if slow else 0.0
        if wait:  # the call is carried out, but its answer comes late
            await asyncio.sleep(wait)
        if method == "getUpdates":
            return self._answer(call, 200, {"ok": True, "result": await self._get_updates(params)})
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            return self._answer(call, 404, {"ok": False, "error_code": 404,
                                            "description": "Not Found: method not found"})
        with self._lock:
            status, result = handler(params, files, file_names)
        body = {"ok": True, "result": result} if status == 200 else {
            "ok": False, "error_code": status, "description": result}
        return self._answer(call, status, body)

    def _answer(self, call: Call, status: int, body: dict) -> web.Response:
        with self._changed:
            call.status = status
            self._changed.notify_all()
        return web.json_response(body, status=status)

    async def _get_updates(self, params: dict) -> List[dict]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                # As Telegram does, an update stays until a later offset confirms it: one handed
                # to a poll whose client has gone (a bot that stopped) comes again.
                ready = [p for p in self._pending if p["update"]["update_id"] >= offset or p["again"]]
                self._pending = [p for p in self._pending if p["update"]["update_id"] >= offset]
                for pending in ready:
                    pending["again"] = False
            if ready or self._closing or time.monotonic() >= deadline:
                return [p["update"] for p in ready]
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    def _api_getMe(self, params, files, file_names):
        return 200, {"id": BOT_ID, "is_bot": True, "first_name": "Coproduce",
                     "username": "coproduce_test_bot", "can_join_groups": False,
                     "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _api_deleteWebhook(self, params, files, file_names):
        self.webhook = {}
        return 200, True

    def _api_setWebhook(self, params, files, file_names):
        self.webhook = dict(params)
        return 200, True

    def _api_getWebhookInfo(self, params, files, file_names):
        return 200, {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                     "pending_update_count": 0}

    def _api_setMyCommands(self, params, files, file_names):
        self.commands = params["commands"]
        return 200, True

    def _api_sendChatAction(self, params, files, file_names):
        return 200, True

    def _api_answerCallbackQuery(self, params, files, file_names):
        return 200, True

    def _api_sendMessage(self, params, files, file_names):
        text = params.get("text") or ""
        if not text.strip() or len(text.encode("utf-16-le")) // 2 > 4096:
            return 400, "Bad Request: message text is empty or too long"
        return 200, self._bot_message(params, text=text)

    def _api_sendVoice(self, params, files, file_names):
        if "voice" in files:
            data = files["voice"]
            if not data.startswith(b"OggS"):
                return 400, "Bad Request: voice notes must be OGG/Opus"
            file_id = "voice-" + uuid.uuid4().hex
            self.uploads[file_id] = data
        else:
            file_id = params.get("voice")
            if file_id not in self.uploads:
                return 400, "Bad Request: wrong file identifier/HTTP URL specified"
        voice = {"file_id": file_id, "file_unique_id": file_id[-12:], "duration": 2,
                 "mime_type": "audio/ogg"}
        return 200, self._bot_message(params, voice=voice)

    def _api_sendDocument(self, params, files, file_names):
        if "document" in files:
            data = files["document"]
            if not data:
                return 400, "Bad Request: file must be non-empty"
            if len(data) > 50 * 1024 * 1024:
                return 400, "Bad Request: file is too big"
            file_id = "document-" + uuid.uuid4().hex
            self.uploads[file_id] = data
            name = file_names.get("document") or "file"
        else:
            file_id = params.get("document")
            if file_id not in self.uploads:
                return 400, "Bad Request: wrong file identifier/HTTP URL specified"
            data, name = self.uploads[file_id], "file"
        if len(params.get("caption") or "") > 1024:
            return 400, "Bad Request: message caption is too long"
        document = {"file_id": file_id, "file_unique_id": file_id[-12:], "file_name": name,
                    "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
                    "file_size": len(data)}
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return 200, self._bot_message(params, document=document, **extra)

    def _api_editMessageReplyMarkup(self, params, files, file_names):
        message = self.messages.get(params.get("chat_id"), {}).get(params.get("message_id"))
        if message is None:
            return 400, "Bad Request: message to edit not found"
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup") or (not markup and "reply_markup" not in message):
            return 400, "Bad Request: message is not modified"
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return 200, message

    def _bot_message(self, params: dict, **content) -> dict:
        chat_id = params["chat_id"]
        message = {"message_id": self.next_message_id(), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Coproduce"}, **content}
        markup = params.get("reply_markup")
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message


async def _read_params(request: web.Request):
    params: Dict[str, Any] = {}
    files: Dict[str, bytes] = {}
    file_names: Dict[str, str] = {}
    if request.method == "POST":
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
                file_names[name] = value.filename or ""
            elif name in JSON_FIELDS:
                try:
                    params[name] = json.loads(value)
                except ValueError:
                    params[name] = value
            else:
                params[name] = value
    params.update({k: v for k, v in request.query.items() if k not in params})
    return params, files, file_names


def _failure(failure: dict) -> dict:
    if failure["status"] == 429:
        return {"ok": False, "error_code": 429,
                "description": f"Too Many Requests: retry after {failure['retry_after']}",
                "parameters": {"retry_after": failure["retry_after"]}}
    return {"ok": False, "error_code": failure["status"], "description": "Bad Gateway"}


class FakeUser:
    """A participant: sends messages, presses buttons and reads what the bot sent to their chat."""

    def __init__(self, api: FakeBotApi, user_id: int, first_name: str, language_code: str):
        self.api = api
        self.id = user_id
        self.profile = {"id": user_id, "is_bot": False, "first_name": first_name,
                        "language_code": language_code}

    # ---- sending ------------------------------------------------------------------
    def message(self, **content) -> dict:
        """Send a message with any content (text, sticker, voice ...) and return its update."""
        message = {"message_id": self.api.next_message_id(), "date": int(time.time()),
                   "chat": {"id": self.id, "type": "private", "first_name": self.profile["first_name"]},
                   "from": self.profile, **content}
        return self.api.push({"message": message})

    def say(self, text: str) -> dict:
        """Type words and send them."""
        return self.message(text=text)

    def in_group(self, group_id: int, **content) -> dict:
        """Send a message with any content in a group chat this participant is in."""
        message = {"message_id": self.api.next_message_id(), "date": int(time.time()),
                   "chat": {"id": group_id, "type": "group", "title": "Day centre friends"},
                   "from": self.profile, **content}
        return self.api.push({"message": message})

    def command(self, name: str) -> dict:
        """Send a /command from the menu."""
        text = "/" + name
        return self.message(text=text, entities=[{"type": "bot_command", "offset": 0,
                                                  "length": len(text)}])

    def sticker(self) -> dict:
        """Send a sticker."""
        return self.message(sticker={"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular",
                                     "width": 512, "height": 512, "is_animated": False,
                                     "is_video": False})

    def voice(self) -> dict:
        """Send a voice note."""
        return self.message(voice={"file_id": "user-voice-1", "file_unique_id": "uv1", "duration": 3})

    def photo(self, caption: str = "") -> dict:
        """Send a photo, with words under it if a caption is given."""
        extra = {"caption": caption} if caption else {}
        return self.message(photo=[{"file_id": "photo-1", "file_unique_id": "p1", "width": 90,
                                    "height": 90}], **extra)

    def document(self) -> dict:
        """Send a file."""
        return self.message(document={"file_id": "doc-1", "file_unique_id": "d1",
                                      "file_name": "my answers.pdf"})

    def location(self) -> dict:
        """Share a place."""
        return self.message(location={"latitude": 51.27, "longitude": 1.08})

    def edit(self, update: dict, text: str) -> dict:
        """Change the words of a message sent before."""
        edited = {**update["message"], "text": text, "edit_date": int(time.time())}
        return self.api.push({"edited_message": edited})

    def press(self, title: str, message: Optional[dict] = None) -> dict:
        """Press the button with this title on the latest message that still shows it."""
        message = message or self.api.wait_for(lambda: self._with_button(title), 30,
                                               f"a button {title!r}")
        data = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                    for b in row if b["text"] == title)
        return self.api.push({"callback_query": {
            "id": uuid.uuid4().hex, "from": self.profile, "chat_instance": f"ci-{self.id}",
            "data": data, "message": json.loads(json.dumps(message))}})

    def press_payload(self, data: str) -> dict:
        """Press the button carrying this callback data on the latest message that shows it."""
        def showing():
            for message in reversed(list(self.api.messages.get(self.id, {}).values())):
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                    if any(b.get("callback_data") == data for b in row):
                        return message
            return None

        message = self.api.wait_for(showing, 30, f"a button for {data!r}")
        return self.api.push({"callback_query": {
            "id": uuid.uuid4().hex, "from": self.profile, "chat_instance": f"ci-{self.id}",
            "data": data, "message": json.loads(json.dumps(message))}})

    def _with_button(self, title: str) -> Optional[dict]:
        for message in reversed(list(self.api.messages.get(self.id, {}).values())):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                if any(b["text"] == title for b in row):
                    return message
        return None

    # ---- reading ------------------------------------------------------------------
    def inbox(self) -> List[dict]:
        """Every message the bot sent to this chat, oldest first."""
        with self.api._lock:
            return list(self.api.messages.get(self.id, {}).values())

    def texts(self) -> List[str]:
        """The words of every text message the bot sent to this chat."""
        return [m["text"] for m in self.inbox() if "text" in m]

    def voices(self) -> List[dict]:
        """The voice notes the bot sent to this chat."""
        return [m["voice"] for m in self.inbox() if "voice" in m]

    def documents(self) -> List[dict]:
        """The files the bot sent to this chat, each with its uploaded bytes as `content`."""
        with self.api._lock:
            return [{**m["document"], "content": self.api.uploads.get(m["document"]["file_id"]),
                     "message_id": m["message_id"], "caption": m.get("caption", "")}
                    for m in self.inbox() if "document" in m]

    def mark(self) -> int:
        """How many messages the chat has now, to wait for new ones after it."""
        return len(self.inbox())

    def wait_for_text(self, fragment: str, after: int = 0, timeout: float = 60.0) -> dict:
        """Wait for a bot text message containing `fragment`, sent after position `after`."""
        def found():
            messages = list(self.api.messages.get(self.id, {}).values())[after:]
            return next((m for m in messages if fragment in m.get("text", "")), None)
        return self.api.wait_for(found, timeout, f"a message with {fragment!r}")

    def ask(self, send: Callable[[], Any], expect: str, timeout: float = 60.0) -> dict:
        """Do something (send or press) and wait for the bot's message containing `expect`."""
        mark = self.mark()
        send()
        return self.wait_for_text(expect, after=mark, timeout=timeout)
