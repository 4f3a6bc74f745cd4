"""Stubs for Rasa's REST channel, in process or over HTTP, for transport tests that do not need
the real dialogue."""
from __future__ import annotations

import asyncio


class StubRasa:
    """Answers like Rasa's REST channel with canned replies, and keeps what it was sent."""

    def __init__(self, reply=None, delay: float = 0.0):
        self.sent = []
        self.delay = delay
        self.reply = reply or (lambda text: [{"text": f"You sent: {text}"}])

    async def send(self, sender, text, *, message_id, metadata=None):
        self.sent.append({"sender": sender, "text": text, "message_id": message_id,
                          "metadata": metadata})
        await asyncio.sleep(self.delay)
        return self.reply(text)


class StubRasaServer:
    """Rasa's REST channel over HTTP on 127.0.0.1, for a transport in another process: answers
    "You sent: <text>", keeps every request it was sent, and can hold its answers back."""

    def __init__(self):
        self.url = ""
        self.sent = []
        self._loop = None
        self._open = None
        self._runner = None
        self._thread = None

    def start(self) -> "StubRasaServer":
        """Serve on a free port and return once it listens."""
        import threading

        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="stub-rasa")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("The stub Rasa did not start")
        return self

    def _serve(self, ready) -> None:
        from aiohttp import web

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._open = asyncio.Event()
        self._open.set()
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _answer(self, request):
        from aiohttp import web

        body = await request.json()
        self.sent.append({"sender": body["sender"], "text": body["message"],
                          "message_id": body["metadata"]["message_id"]})
        await self._open.wait()
        return web.json_response([{"text": f"You sent: {body['message']}"}])

    def texts(self):
        """The words of every message Rasa was sent, in order."""
        return [sent["text"] for sent in list(self.sent)]

    def hold(self) -> None:
        """Keep every answer back, as a Rasa that is thinking hard does."""
        self._loop.call_soon_threadsafe(self._open.clear)

    def release(self) -> None:
        """Answer again, those held back first."""
        self._loop.call_soon_threadsafe(self._open.set)

    def stop(self) -> None:
        """Stop serving."""
        self.release()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
