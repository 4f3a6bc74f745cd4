"""The web page's words, read once from domain.yml responses so they are checked like the rest."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Tuple

from bot.wording import load_responses, response_text

# Field name on the page -> the domain.yml response that holds its words.
RESPONSES = {
    "chat_label": "utter_web_chat_label",
    "helper_name": "utter_web_helper_name",
    "you": "utter_web_you",
    "message_label": "utter_web_message_label",
    "message_hint": "utter_web_message_hint",
    "send": "utter_web_send",
    "listen": "utter_web_listen",
    "stop_listening": "utter_web_stop_listening",
    "bigger_text": "utter_web_bigger_text",
    "contrast": "utter_web_contrast",
    "send_failed": "utter_web_send_failed",
    "too_long": "utter_web_too_long",
    "no_words": "utter_web_empty",  # a button or typing: some steps have no Skip
    "audio_failed": "utter_web_audio_failed",
    "save_file": "utter_web_save_file",
    "file_gone": "utter_web_file_gone",
    "resting": "utter_server_resting",
    "not_here": "utter_web_not_here",
    "back_to_chat": "utter_web_back_to_chat",
    "old_button": "utter_web_old_button",
    "chat_moved": "utter_web_chat_moved",
    "sending": "utter_web_sending",
    "controls_label": "utter_web_controls_label",
    "help": "utter_web_help",
    "say_again": "utter_web_say_again",
    "stop_for_now": "utter_web_stop_for_now",
    "start_again": "utter_web_start_again",
    "sound_on": "utter_web_sound_on",
    "sound_off": "utter_web_sound_off",
}

# The page's own buttons, always there under the message box: what each sends to Rasa (the
# same intents Telegram's menu sends, see bot.telegram.words.COMMANDS) and the field of its words.
CONTROLS = (
    ("/help", "help"),
    ("/repeat", "say_again"),
    ("/stop", "stop_for_now"),
    ("/start_again", "start_again"),
    ("/sound_on", "sound_on"),
    ("/sound_off", "sound_off"),
)


# The page's notices (its own words when sending went wrong) that can be heard, like every
# message: each has a Listen button. "Sorry, I cannot read this out loud" is not among them.
NOTICES = ("send_failed", "too_long", "no_words", "resting", "old_button", "chat_moved")


class MissingWords(LookupError):
    """domain.yml lacks responses the web page needs."""


@dataclasses.dataclass(frozen=True)
class PageWords:
    """Every word the web page shows around the conversation itself."""

    chat_label: str
    helper_name: str
    you: str
    message_label: str
    message_hint: str
    send: str
    listen: str
    stop_listening: str
    bigger_text: str
    contrast: str
    send_failed: str
    too_long: str
    no_words: str
    audio_failed: str
    save_file: str
    file_gone: str
    resting: str
    not_here: str
    back_to_chat: str
    old_button: str
    chat_moved: str
    sending: str
    controls_label: str
    help: str
    say_again: str
    stop_for_now: str
    start_again: str
    sound_on: str
    sound_off: str

    def controls(self) -> Tuple[Tuple[str, str], ...]:
        """The page's own buttons as (what it sends to Rasa, its words), in order."""
        return tuple((payload, getattr(self, field)) for payload, field in CONTROLS)

    def notice_field(self, notice: str) -> Optional[str]:
        """The name of the notice with these words (see NOTICES), or None for any other."""
        return next((field for field in NOTICES if getattr(self, field) == notice), None)

    def control_title(self, payload: str) -> Optional[str]:
        """The words of the page's own button that sends this, or None for any other."""
        return dict(self.controls()).get(payload)


def load_page_words(domain_path: Path) -> PageWords:
    """Read the page's words from domain.yml; raise MissingWords naming every response not there."""
    responses = load_responses(Path(domain_path))
    missing = sorted(name for name in RESPONSES.values() if not responses.get(name))
    if missing:
        raise MissingWords(f"{domain_path} has no response called {', '.join(missing)}")
    return PageWords(**{field: response_text(Path(domain_path), name)
                        for field, name in RESPONSES.items()})
