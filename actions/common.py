"""Small helpers shared by the actions: who is talking, on which channel, which message."""
from __future__ import annotations

import functools
import re
from typing import Any, Dict, List, Optional, Set

import yaml

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.app import Services, get_services
from bot.engagement import Engagement
from bot.safeguarding.detector import OTHER_SCRIPT, Detection
from bot.settings import PROJECT_ROOT

# Intents that steer the conversation rather than answer a question.
CONTROL_INTENTS = {"help", "repeat", "stop", "start_again", "skip", "dont_know", "greet",
                   "what_happened", "sound_on", "sound_off", "my_data", "delete_my_data",
                   "withdraw_consent", "ask_privacy", "edited"}
# Yes and no: a short reply in their words moves the chat on; anything else is an answer.
YES_NO_INTENTS = {"affirm", "deny"}
# A button's payload, as Rasa reads it: /intent or /intent{"entity": "value"}.
_PAYLOAD = re.compile(r"^/\w+(?:\{.*\})?$", re.DOTALL)
CONTROL_CONFIDENCE = 0.8
# Leaving words NLU is less sure of ("I don't want to do this any more" at 0.73) are asked about
# ("Do you want to stop taking part?"): neither kept as an answer nor acted on.
LEAVING_ASK_CONFIDENCE = 0.5
CONTROL_MAX_WORDS = 5
# Leaving takes more words ("I changed my mind about taking part"); its vocabulary still has
# to match, so an answer that only sounds like it stays an answer.
CONTROL_MAX_WORDS_BY_INTENT = {"withdraw_consent": 10, "delete_my_data": 8, "my_data": 8,
                               "ask_privacy": 8}
REFLECT_MAX_CHARS = 280
NEWS_CHANNELS = {"telegram"}  # channels that can send news to a participant later


def services() -> Services:
    """The action server's services, built on first use."""
    return get_services()


def channel_of(tracker: Tracker) -> str:
    """The channel the participant is using (rest, telegram, web ...)."""
    return tracker.get_latest_input_channel() or "rest"


def metadata_of(tracker: Tracker) -> Dict[str, Any]:
    """Metadata the transport sent with the latest message."""
    return (tracker.latest_message or {}).get("metadata") or {}


def message_id_of(tracker: Tracker) -> str:
    """The channel's id for the latest message, else Rasa's own id for it."""
    message = tracker.latest_message or {}
    return str(metadata_of(tracker).get("message_id") or message.get("message_id") or "")


COMMAND_WORD_SHARE = 0.6
# Leaving acts at once, so every word must be one leaving uses: "I don't want to go to college
# any more" at a question is an answer, not a wish to stop taking part. Asking for one's data
# needs most of its words: "what about my day centre" is an answer.
COMMAND_WORD_SHARE_BY_INTENT = {"withdraw_consent": 1.0, "my_data": 0.75}
_WORDS = re.compile(r"[a-z']+")


@functools.lru_cache(maxsize=1)
def command_vocabulary() -> Dict[str, Set[str]]:
    """The words each steering intent's training examples use, from nlu/*.yml."""
    vocabulary: Dict[str, Set[str]] = {}
    for path in sorted((PROJECT_ROOT / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if block.get("intent") in CONTROL_INTENTS | YES_NO_INTENTS:
                words = vocabulary.setdefault(block["intent"], set())
                for line in (block.get("examples") or "").splitlines():
                    found = _WORDS.findall(line.lower())
                    words.update(found)
                    words.update(word.replace("'", "") for word in found)  # "dont" as typed
    return vocabulary


def previous_message(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The participant's message before the latest one (its event, with text and timestamp), or None."""
    said = [event for event in tracker.events if event.get("event") == "user"]
    return said[-2] if len(said) >= 2 else None


def seconds_since_previous(tracker: Tracker) -> Optional[float]:
    """Seconds between the participant's message before the latest one and the latest, or None."""
    before = previous_message(tracker)
    latest = next((event for event in reversed(tracker.events) if event.get("event") == "user"), None)
    if before is None or not before.get("timestamp") or not latest.get("timestamp"):
        return None
    return latest["timestamp"] - before["timestamp"]


def seconds_since_said(tracker: Tracker, response: str) -> Optional[float]:
    """Seconds from the last time the assistant said this response to the latest message, or
    None if it has not said it (or the times are not known)."""
    latest = next((event for event in reversed(tracker.events) if event.get("event") == "user"), None)
    said = next((event for event in reversed(tracker.events) if event.get("event") == "bot"
                 and (event.get("metadata") or {}).get("utter_action") == response), None)
    if latest is None or said is None or not latest.get("timestamp") or not said.get("timestamp"):
        return None
    return latest["timestamp"] - said["timestamp"]


def is_command(tracker: Tracker) -> bool:
    """True when the latest message steers the chat (a button, or a short command)."""
    return is_short_reply(tracker, CONTROL_INTENTS)


def is_payload(text: str) -> bool:
    """True for a button's payload (typed or pressed), which is never an answer."""
    return bool(_PAYLOAD.match((text or "").strip()))


def payload_intent(text: str) -> Optional[str]:
    """The intent a payload names ("/affirm" and '/choose_theme{"theme":"x"}': affirm,
    choose_theme); None for words that are not a payload."""
    match = re.match(r"/([^{\s]*)", (text or "").strip())
    return match.group(1) if match else None


def stray_payload(tracker: Tracker) -> bool:
    """True for a typed payload that names no intent of ours ("/nonsense"): NLU then guesses an
    intent from the bare word, and no action should act on that guess."""
    message = tracker.latest_message or {}
    named = payload_intent(message.get("text") or "")
    return named is not None and named != ((message.get("intent") or {}).get("name") or "")


def is_short_reply(tracker: Tracker, intents: Set[str],
                   confidence: float = CONTROL_CONFIDENCE) -> bool:
    """True when the latest message is one of these intents as a button, or in a few words
    that the intent's own examples use (so "green grass", read as "yes", is not a yes), and NLU
    is at least this sure of it."""
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {})
    name = intent.get("name")
    text = (message.get("text") or "").strip()
    if name not in intents:
        return False
    if text.startswith("/"):  # a button: its payload names the intent
        return payload_intent(text) == name
    words = _WORDS.findall(text.lower().replace("anymore", "any more"))
    if not words or len(words) > CONTROL_MAX_WORDS_BY_INTENT.get(name, CONTROL_MAX_WORDS):
        return False
    if (intent.get("confidence") or 0.0) < confidence:
        return False
    # A real answer that NLU mistook for a command uses words the command never uses.
    known = command_vocabulary().get(name, set())
    share = COMMAND_WORD_SHARE_BY_INTENT.get(name, COMMAND_WORD_SHARE)
    return sum(word in known for word in words) / len(words) >= share


def sounds_like_leaving(tracker: Tracker) -> bool:
    """True for leaving in leaving's own words that NLU is not sure enough of to act on: the
    participant is asked whether they want to stop taking part."""
    return not is_short_reply(tracker, {"withdraw_consent"}) \
        and is_short_reply(tracker, {"withdraw_consent"}, LEAVING_ASK_CONFIDENCE)


def last_bot_messages(events) -> list:
    """The bot messages sent just before the latest participant message."""
    collected = []
    seen_latest_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                break
            seen_latest_user = True
        elif kind == "bot" and seen_latest_user:
            collected.append(event)
    return list(reversed(collected))


def last_said(tracker: Tracker) -> Optional[str]:
    """The response the assistant said last before the latest message (None if not known)."""
    said = last_bot_messages(tracker.events)
    return (said[-1].get("metadata") or {}).get("utter_action") if said else None


def reply_to_leaving_check(tracker: Tracker) -> Optional[str]:
    """"leave" or "stay" for a yes or a no typed straight after "Do you want to stop taking
    part?" (its buttons say so themselves); None for anything else."""
    message = tracker.latest_message or {}
    if (message.get("text") or "").strip().startswith("/") \
            or last_said(tracker) != "utter_check_withdraw":
        return None
    if is_short_reply(tracker, {"affirm"}):
        return "leave"
    return "stay" if is_short_reply(tracker, {"deny"}) else None


def disclosure_confidence(tracker: Tracker) -> Optional[float]:
    """How sure NLU is that the latest message discloses harm (None if it did not rank it)."""
    message = tracker.latest_message or {}
    for ranked in message.get("intent_ranking") or [message.get("intent") or {}]:
        if ranked.get("name") == "disclose_harm":
            return ranked.get("confidence")
    return None


# Who 999 is for, by the role of the person answering (yourself otherwise).
DANGER_RESPONSES = {"on_behalf": "utter_safeguarding_danger_carer",
                    "support_worker": "utter_safeguarding_danger_support_worker"}


def utter_safeguarding(dispatcher: CollectingDispatcher, engagement: Engagement,
                       role: Optional[str] = None, detection: Optional[Detection] = None) -> None:
    """The calm script: thank you, what happens next, 999 and the local number. No questions.
    A carer is told that 999 is for them or the person they care for, a support worker for them
    or a person they support. Words in letters the detector cannot read get "I can only read
    English. A person will read what you wrote."."""
    values = engagement.template_values()
    danger = DANGER_RESPONSES.get(role or "", "utter_safeguarding_danger")
    first = ("utter_safeguarding_other_script",) \
        if detection is not None and detection.categories == [OTHER_SCRIPT] \
        else ("utter_safeguarding_thanks", "utter_safeguarding_next")
    for response in (*first, danger):
        dispatcher.utter_message(response=response, **values)
    if engagement.safeguarding_number:
        dispatcher.utter_message(response="utter_safeguarding_local", **values)


def reflection(text: str) -> str:
    """The participant's words, shortened for the 'You said' message only."""
    text = " ".join(text.split())
    if len(text) <= REFLECT_MAX_CHARS:
        return text
    return text[:REFLECT_MAX_CHARS].rsplit(" ", 1)[0] + " …"


def end_form_events(tracker: Tracker) -> List:
    """Events that close the question form (harmless when it is not open)."""
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


def utter_introduction(dispatcher: CollectingDispatcher, engagement: Engagement) -> None:
    """Say who is asking, why, what can change and how answers are kept, then ask consent."""
    values = engagement.template_values()
    for response in ("utter_welcome", "utter_purpose", "utter_remit", "utter_privacy",
                     "utter_ask_consent"):
        dispatcher.utter_message(response=response, **values)


def utter_finish(dispatcher: CollectingDispatcher, engagement: Engagement,
                 can_send_news: bool = False) -> None:
    """Thank the participant, say what happens next, and offer news where we can send it."""
    values = engagement.template_values()
    later = "utter_ask_later" if can_send_news else "utter_ask_later_no_news"
    for response in ("utter_end_thanks", "utter_next_steps", later, "utter_contact"):
        dispatcher.utter_message(response=response, **values)
    if can_send_news:
        dispatcher.utter_message(response="utter_ask_updates")


def question_events(next_question: Optional[object], dispatcher: CollectingDispatcher,
                    engagement: Engagement, tracker: Optional[Tracker] = None) -> List:
    """Slots for going on to the next question, or for the end when there is none."""
    if next_question is None:
        utter_finish(dispatcher, engagement,
                     can_send_news=tracker is not None and channel_of(tracker) in NEWS_CHANNELS)
        return [SlotSet("stage", "done"), SlotSet("adding_more", False)]
    return [SlotSet("stage", "question"), SlotSet("adding_more", False),
            SlotSet("answer_text", None)]


def delete_question(tracker: Tracker) -> str:
    """The response that asks to confirm deleting: about their answers, or, when nothing of
    theirs is kept (no answer, nothing held for the safety lead), about this chat."""
    record = services().data_rights.record(tracker.sender_id)
    kept = record and (record.get("answers") or record.get("kept_for_safety_lead"))
    return "utter_ask_delete" if kept else "utter_ask_delete_chat"

