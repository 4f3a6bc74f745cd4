"""The terminal chat: talk to the assistant through Rasa's REST channel."""
from __future__ import annotations

import logging
import queue
import sys
import threading
import uuid
from pathlib import Path
from typing import Callable, List, Optional

import click

from bot.rest_client import RasaUnavailable, RestClient
from bot.settings import Settings
from bot.wording import response_text

log = logging.getLogger(__name__)


def local_sender(settings: Settings) -> str:
    """A stable id for this terminal, so a participant can come back and carry on."""
    path = Path(settings.var_dir) / "chat_sender"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("terminal-" + uuid.uuid4().hex)
    return path.read_text().strip()


def render(messages: List[dict], echo: Callable[[str], None]) -> List[dict]:
    """Print the assistant's messages; return every button of the turn, in the order shown.

    Buttons are numbered on from one message to the next (a theme list of 7, then "That is
    all" as 8), so each number presses the one button shown with it.
    """
    buttons: List[dict] = []
    for message in messages:
        if message.get("text"):
            echo(click.style("Assistant: ", fg="cyan", bold=True) + message["text"])
        for button in message.get("buttons") or []:
            buttons.append(button)
            echo(f"   {len(buttons)}. {button.get('title')}")
    return buttons


def choose(text: str, buttons: List[dict]) -> str:
    """A button's payload when the participant typed its number, else the text itself."""
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return buttons[int(stripped) - 1].get("payload") or buttons[int(stripped) - 1]["title"]
    return text


class Speaker:
    """Plays (or points to) each message's audio in the background, after its text."""

    def __init__(self, settings: Settings, sender: str, echo: Callable[[str], None]):
        self.settings, self.sender, self.echo = settings, sender, echo
        self.jobs: "queue.Queue[Optional[str]]" = queue.Queue()
        self._services = self._speech = None
        threading.Thread(target=self._work, name="chat-audio", daemon=True).start()

    def wants_sound(self) -> bool:
        """True when this participant chose to hear messages."""
        from bot.app import build_services

        if self._services is None:
            self._services = build_services(self.settings)
        return bool(self._services.conversation.sound_preference(self.sender))

    def say(self, texts: List[str]) -> None:
        """Queue these messages to be heard, if the participant wants sound."""
        try:
            if not self.wants_sound():
                return
        except Exception as exc:  # a sound problem never stops the chat
            log.warning("Could not read the sound choice: %s", exc.__class__.__name__)
            return
        for text in texts:
            self.jobs.put(text)

    def _work(self) -> None:
        from bot.speech.play import play_or_path
        from bot.speech.service import build_speech_service

        while True:
            text = self.jobs.get()
            try:
                if self._speech is None:
                    self._speech = build_speech_service(self.settings)
                audio = self._speech.synthesize(text, sender=self.sender)
                path = play_or_path(audio) if audio else None
                if path:
                    self.echo(click.style(f"   (audio: {path})", dim=True))
            except Exception as exc:
                log.warning("Could not play audio: %s", exc.__class__.__name__)


def run_chat(settings: Settings, sender: Optional[str] = None,
             read: Callable[[], str] = None, echo: Callable[[str], None] = click.echo) -> None:
    """Talk until the participant leaves (Ctrl-D, Ctrl-C or the end of the input).

    Raises RasaUnavailable if the assistant does not answer the greeting: nobody typed it, so
    it is tried once and never "kept" for later.
    """
    domain = Path(settings.project_root) / "domain.yml"
    client = RestClient(settings.rasa_url, channel="terminal")
    sender = sender or local_sender(settings)
    read = read or _read_line
    greeting = client.send(sender, "/greet", uuid.uuid4().hex)
    speaker = Speaker(settings, sender, echo)
    echo("Type your message and press Enter. Type the number of a button to press it. "
         "Press Ctrl-D to leave.")
    buttons = _show(greeting, echo, speaker)
    try:
        while True:
            text = read()
            buttons = _exchange(client, sender, choose(text, buttons), domain, echo, buttons,
                                speaker)
    except (EOFError, KeyboardInterrupt):
        echo("")
        echo(response_text(domain, "utter_terminal_goodbye"))


def _read_line() -> str:
    """One line typed by the participant (the prompt is coloured only on a terminal)."""
    prompt = "You: "
    if sys.stdout.isatty():
        prompt = click.style(prompt, fg="green", bold=True)
    return input(prompt)


def _show(replies: List[dict], echo, speaker: Optional[Speaker]) -> List[dict]:
    """Print (and queue the audio of) the assistant's replies; return their buttons."""
    buttons = render(replies, echo)
    if speaker is not None:
        speaker.say([r["text"] for r in replies if r.get("text")])
    return buttons


def _exchange(client: RestClient, sender: str, text: str, domain: Path, echo, buttons,
              speaker: Optional[Speaker] = None):
    def resting() -> None:
        echo(response_text(domain, "utter_server_resting"))
        echo(response_text(domain, "utter_message_kept"))

    try:
        replies = client.send_reliably(sender, text, uuid.uuid4().hex, on_wait=resting)
    except RasaUnavailable:
        echo(response_text(domain, "utter_send_again"))
        return buttons
    return _show(replies, echo, speaker) or buttons
