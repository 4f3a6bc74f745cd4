"""A small client for Rasa's REST channel, used by the terminal chat and the checks."""
from __future__ import annotations

import logging
import time
import uuid
from typing import List, Optional

import requests

log = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer."""


class RestClient:
    """Sends one participant message to Rasa and returns the assistant's replies."""

    def __init__(self, rasa_url: str, channel: str = "rest", timeout: float = 30.0):
        self.url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"
        self.channel = channel
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, sender: str, text: str, message_id: Optional[str] = None,
             metadata: Optional[dict] = None) -> List[dict]:
        """Send a message once; raise RasaUnavailable if the server cannot be reached."""
        body = {"sender": sender, "message": text, "input_channel": self.channel,
                "metadata": {"message_id": message_id or uuid.uuid4().hex, **(metadata or {})}}
        try:
            response = self.http.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RasaUnavailable(str(exc)) from None
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        response.raise_for_status()
        return response.json()

    def send_reliably(self, sender: str, text: str, message_id: str, patience: float = 60.0,
                      on_wait=None) -> List[dict]:
        """Send with retries (same message id, so nothing is stored twice) until patience runs out."""
        delay, deadline, told = 0.5, time.monotonic() + patience, False
        while True:
            try:
                return self.send(sender, text, message_id=message_id)
            except RasaUnavailable:
                if time.monotonic() >= deadline:
                    raise
                if on_wait and not told:
                    on_wait()
                    told = True
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
