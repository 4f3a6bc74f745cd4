"""The words the Telegram transport says by itself, read from domain.yml, and its menu commands."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from bot.wording import response_text

# Menu command -> (Rasa payload, domain response that describes it in the menu).
COMMANDS: Dict[str, Tuple[str, str]] = {
    "start": ("/start", "utter_menu_start"),
    "help": ("/help", "utter_menu_help"),
    "repeat": ("/repeat", "utter_menu_repeat"),
    "sound_on": ("/sound_on", "utter_menu_sound_on"),
    "sound_off": ("/sound_off", "utter_menu_sound_off"),
    "stop": ("/stop", "utter_menu_stop"),
    "mydata": ("/my_data", "utter_menu_mydata"),
    "delete": ("/delete_my_data", "utter_menu_delete"),
}
# Said once when Rasa stops answering: it rests, and the message is kept (not "try again",
# which the web chat says, as it keeps nothing: here a second copy would be an answer twice).
RESTING_KEPT = "utter_resting_kept"
MESSAGE_KEPT = "utter_message_kept"
SEND_AGAIN = "utter_send_again"
TAKING_LONG = "utter_taking_long"
CANNOT_OPEN = "utter_cannot_open_that"
CANNOT_LISTEN = "utter_cannot_listen_yet"
ONLY_THE_WORDS = "utter_only_the_words"
ONLY_IN_PRIVATE = "utter_only_in_private"
FIXED_RESPONSES = (RESTING_KEPT, MESSAGE_KEPT, SEND_AGAIN, TAKING_LONG, CANNOT_OPEN, CANNOT_LISTEN,
                   ONLY_THE_WORDS, ONLY_IN_PRIVATE) \
    + tuple(described for _, described in COMMANDS.values())


class Wording:
    """Looks up the transport's own messages in domain.yml, so none is written in Python."""

    def __init__(self, domain_path: Path):
        self.domain_path = Path(domain_path)

    def text(self, name: str) -> str:
        """The text of a domain response."""
        return response_text(self.domain_path, name)

    def missing(self) -> List[str]:
        """The transport's responses that domain.yml does not have."""
        missing = []
        for name in FIXED_RESPONSES:
            try:
                self.text(name)
            except KeyError:
                missing.append(name)
        return missing
