"""A participant who answers whatever the assistant asks, choosing by the buttons' payloads.

The pilot talks to Rasa's REST channel to learn the conversation (the reference), then the same
steps are replayed through Telegram and must give the same texts. So the tests and the bench
follow the dialogue as it is today, whatever steps it gains.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from bot.wording import response_text


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing a participant does: a menu command, a button (by payload) or typed words."""

    kind: str  # "command", "press" or "say"
    value: str

    @property
    def rest_text(self) -> str:
        """What the same step sends through the REST channel."""
        return "/" + self.value if self.kind == "command" else self.value


@dataclasses.dataclass
class Policy:
    """How the pilot chooses: which sound choice, its answers, and whether to add more once."""

    domain: Path
    answers: Sequence[str]
    sound: bool = False
    more_info_first: bool = False
    add_more_once: Optional[str] = None  # words to add after the first answer
    before_first_answer: Sequence[Step] = ()
    _answered: int = 0
    _asked_more_info: bool = False
    _added_more: bool = False
    _extra_due: bool = False
    _before_done: bool = False

    def next_steps(self, replies: Sequence[dict]) -> List[Step]:
        """The steps to take after these replies; empty at the end of the conversation."""
        texts = [r.get("text") or "" for r in replies]
        payloads = [b.get("payload") for r in replies for b in r.get("buttons") or []]
        said = lambda name: response_text(self.domain, name)  # noqa: E731
        if said("utter_end_thanks") in texts:
            return []
        if "/sound_on" in payloads:
            return [Step("press", "/sound_on" if self.sound else "/sound_off")]
        if "/more_info" in payloads and self.more_info_first and not self._asked_more_info:
            self._asked_more_info = True
            return [Step("press", "/more_info")]
        if "/role_self" in payloads:
            return [Step("press", "/role_self")]
        if said("utter_ask_add_more") in texts:
            if self.add_more_once and not self._added_more:
                self._added_more = self._extra_due = True
                return [Step("press", "/affirm")]
            return [Step("press", "/deny")]
        if "/no_theme" in payloads:  # no theme found, nothing picked: "None of these"
            return [Step("press", "/no_theme")]
        if "/themes_done" in payloads:
            return [Step("press", "/themes_done")]
        if "/skip" in payloads or not payloads or said("utter_ask_more_answer") in texts:
            # a question (or "What else do you want to tell us?"): type the answer
            return self._answer()
        if "/affirm" in payloads:
            return [Step("press", "/affirm")]
        raise AssertionError(f"The pilot does not know what to do after {texts!r}")

    def _answer(self) -> List[Step]:
        steps = []
        if not self._before_done:
            self._before_done = True
            steps.extend(self.before_first_answer)
        if self._extra_due:
            self._extra_due = False
            return steps + [Step("say", self.add_more_once)]
        self._answered += 1
        return steps + [Step("say", self.answers[self._answered - 1])]


def reference(send: Callable[[str], List[dict]], policy: Policy,
              limit: int = 60) -> List[tuple]:
    """Talk to Rasa until the end: each step with the replies it got."""
    steps = [Step("command", "start")]
    transcript = []
    while steps and len(transcript) < limit:
        step = steps.pop(0)
        replies = send(step.rest_text)
        transcript.append((step, replies))
        if not steps:
            steps = policy.next_steps(replies)
    assert not steps, "the conversation did not end"
    return transcript


def texts_of(replies: Sequence[dict]) -> List[str]:
    """The words of the replies that have words."""
    return [r["text"] for r in replies if r.get("text")]


def rest_sender(send_rest, name: str) -> Callable[[str], List[dict]]:
    """A `send` for reference(): one REST participant with unique message ids."""
    sender = f"{name}-{time.time_ns()}"
    return lambda text: send_rest(sender, text, message_id=f"{sender}-{time.time_ns()}")


def act(user, step: Step) -> dict:
    """Do a step as a Telegram participant and return the update it made."""
    if step.kind == "command":
        return user.command(step.value)
    if step.kind == "say":
        return user.say(step.value)
    return user.press_payload(step.value)
