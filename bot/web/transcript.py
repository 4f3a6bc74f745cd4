"""What each web participant's page shows: the transcript, kept in memory per session.

The transcript is kept only in this process's memory, by design. Rasa's tracker store
already keeps the conversation itself, so nothing is lost when the web app restarts:
the page then reads the conversation back from there (bot.web.history) and shows it
again, or, when Rasa has none, says hello to Rasa. Keeping the words out of another table
means the web chat writes no participant's words to disk of its own. A file the assistant
gives a participant (their own record) is kept in memory with the message offering it,
and is gone after a restart. A reply that says the participant's data was erased
(`custom.erased`, from action_delete_my_data) empties the transcript before it is shown.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import mimetypes
import secrets
from typing import Iterable, List, Optional, Tuple

from bot.documents import document_in

HELPER = "helper"
PARTICIPANT = "you"
# Enough to catch a double click or a resubmitted form; a page sends one message id at a time.
MAX_MESSAGE_IDS = 40


@dataclasses.dataclass(frozen=True)
class Choice:
    """A button the assistant offered: what it says and what it sends to Rasa."""

    title: str
    payload: str


@dataclasses.dataclass(frozen=True)
class SavedFile:
    """A file the assistant gave this participant, such as their own record, kept in memory."""

    id: str
    filename: str
    content: bytes = dataclasses.field(repr=False)  # personal data: never in a log line

    @property
    def media_type(self) -> str:
        """The file's type, from its name (JSON for the participant's record)."""
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One message on the page, from the chat helper or from the participant."""

    id: str
    speaker: str
    text: str
    turn: int
    choices: Tuple[Choice, ...] = ()
    file: Optional[SavedFile] = None
    # Where its words are heard (/audio/<sound>.mp3): the same for the same words of the same
    # participant, so a page open before a restart still finds them in the transcript read back.
    sound: str = ""

    @property
    def from_helper(self) -> bool:
        """True for the assistant's messages (the ones that can be heard)."""
        return self.speaker == HELPER


def choices_from(message: dict) -> Tuple[Choice, ...]:
    """The buttons of one Rasa message that have both a title and something to send."""
    found = []
    for button in message.get("buttons") or []:
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if title and payload:
            found.append(Choice(title=title, payload=payload))
    return tuple(found)


def erasure_in(replies: Iterable[dict]) -> bool:
    """True when Rasa's replies say the participant's data and this chat were just erased."""
    return any(isinstance(reply.get("custom"), dict) and reply["custom"].get("erased") is True
               for reply in replies)


def file_from(message: dict) -> Optional[SavedFile]:
    """The file a Rasa message carries (see bot.documents), kept under a new random id."""
    document = document_in(message)
    if document is None:
        return None
    return SavedFile(_new_file_id(), document.filename, document.content)


class Transcript:
    """One participant's messages in order; a lock keeps their sends one at a time."""

    def __init__(self, max_entries: int, sound_salt: str = ""):
        self.sound_salt = sound_salt  # the Rasa sender: no one else can work out the addresses
        self.entries: collections.deque = collections.deque(maxlen=max_entries)
        self.turn = 0
        self.lock = asyncio.Lock()
        self.read_back = False  # Rasa's stored conversation was looked for (bot.web.history)
        self.erased_turn: Optional[int] = None  # the exchange that said the data was erased
        # Recent message ids sent to Rasa -> (a digest of the message, its turn), oldest first.
        self._sent: collections.OrderedDict = collections.OrderedDict()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def add_exchange(self, said: Optional[str], replies: Iterable[dict]) -> List[Entry]:
        """Add what the participant said (None for the page's own hello) and the replies.

        Replies saying the data was erased replace everything shown before, and what the
        participant said to ask for it is not shown either.
        """
        replies = list(replies)
        self.turn += 1
        if erasure_in(replies):
            self.erase()
            said = None
        added = []
        if said is not None:
            added.append(Entry(_new_id(), PARTICIPANT, said, self.turn))
        for message in replies:
            text = str(message.get("text") or "")
            choices = choices_from(message)
            saved = file_from(message)
            if text or choices:
                added.append(Entry(_new_id(), HELPER, text, self.turn, choices, saved,
                                   sound=_sound_key(self.sound_salt, text) if text else ""))
            elif saved and added and added[-1].from_helper and added[-1].file is None:
                # Rasa sends a file apart from the words that offer it: show it under them.
                added[-1] = dataclasses.replace(added[-1], file=saved)
            elif saved:
                added.append(Entry(_new_id(), HELPER, "", self.turn, file=saved))
        self.entries.extend(added)
        return added

    def erase(self) -> None:
        """Forget every message and file shown so far, as the participant asked.

        The ids of messages already sent stay (with a digest, never the words), so an old page
        that posts one again is still not sent to Rasa twice; the turn count goes on, so such
        a post finds no messages to show again.
        """
        self.entries.clear()
        self.erased_turn = self.turn

    def was_erased_by(self, entries: List[Entry]) -> bool:
        """True when these entries answer the message after which the data was erased."""
        return bool(entries) and entries[0].turn == self.erased_turn

    def remember_sent(self, message_id: str, message: str) -> None:
        """Note that Rasa answered this message, so a second post of it is not sent again."""
        self._sent[message_id] = (_digest(message), self.turn)
        self._sent.move_to_end(message_id)
        while len(self._sent) > MAX_MESSAGE_IDS:
            self._sent.popitem(last=False)

    def repeat_of(self, message_id: str, message: str) -> Optional[List[Entry]]:
        """The entries that answered this very message already, or None when it is new."""
        sent = self._sent.get(message_id)
        if sent is None or sent[0] != _digest(message):
            return None
        return [entry for entry in self.entries if entry.turn == sent[1]]

    def id_was_sent(self, message_id: str) -> bool:
        """True when Rasa already had a message with this id (maybe other words)."""
        return message_id in self._sent

    def is_latest(self, entry: Entry) -> bool:
        """True when the entry belongs to the newest exchange (whose buttons still work)."""
        return entry.turn == self.turn

    def entries_after(self, turn: int) -> List[Entry]:
        """The messages of every exchange after this one (what a page that is behind missed)."""
        return [entry for entry in self.entries if entry.turn > turn]

    def first_of_latest(self) -> Optional[Entry]:
        """The first message of the newest exchange, where a page without JavaScript jumps to."""
        return next((entry for entry in self.entries if entry.turn == self.turn), None)

    def spoken_entry(self, sound: str) -> Optional[Entry]:
        """The assistant's message heard at this address, if it is still on the page."""
        return next((entry for entry in self.entries
                     if entry.sound and entry.sound == sound and entry.from_helper), None)

    def saved_file(self, file_id: str) -> Optional[SavedFile]:
        """The file with this id, if this participant was given it and it is still on the page."""
        files = (entry.file for entry in self.entries if entry.file is not None)
        return next((saved for saved in files if secrets.compare_digest(saved.id, file_id)), None)

    def title_for(self, payload: str) -> Optional[str]:
        """The title of a button this participant was offered, newest first; None if never offered."""
        for entry in reversed(self.entries):
            for choice in entry.choices:
                if choice.payload == payload:
                    return choice.title
        return None


class Transcripts:
    """Every participant's transcript by Rasa sender; the least recently used go first when full."""

    def __init__(self, max_conversations: int = 5000, max_entries: int = 400):
        self.max_conversations = max_conversations
        self.max_entries = max_entries
        self._by_sender: collections.OrderedDict = collections.OrderedDict()

    def get(self, sender: str) -> Transcript:
        """The transcript for a sender, made empty on first use."""
        transcript = self._by_sender.pop(sender, None)
        if transcript is None:  # not `or`: an empty transcript is falsy, and keeps its lock
            transcript = Transcript(self.max_entries, sound_salt=sender)
        self._by_sender[sender] = transcript
        while len(self._by_sender) > self.max_conversations:
            self._by_sender.popitem(last=False)
        return transcript

    def find(self, sender: str) -> Optional[Transcript]:
        """The transcript for a sender if there is one, without making one."""
        return self._by_sender.get(sender)

    def __len__(self) -> int:
        return len(self._by_sender)


def _digest(message: str) -> bytes:
    # A short digest, not the words: the record stays small for thousands of sessions.
    return hashlib.sha256(message.encode("utf-8")).digest()[:16]


def _sound_key(salt: str, text: str) -> str:
    # A digest of the sender and the words: another page cannot work it out, and the words
    # cannot be read back from an address in a log.
    return hashlib.sha256(f"{salt}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _new_id() -> str:
    # Random: the page's name for one message, unique on the page.
    return secrets.token_hex(8)


def _new_file_id() -> str:
    # 128 random bits: a file holds personal data, so its address must never be guessed.
    return secrets.token_hex(16)
