"""Actions that work at every step: stop, start again, repeat, not understood, what happened."""
from __future__ import annotations

import re
from typing import Optional, Text

from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet, UserUtteranceReverted

from actions.common import (NEWS_CHANNELS, channel_of, disclosure_confidence, end_form_events,
                            is_command, is_payload, is_short_reply, last_bot_messages, services,
                            utter_introduction, utter_safeguarding)
from actions.data_rights import delete_reply
from actions.questions import is_filler, only_guessed, save_more
from actions.theme_words import is_correction, plain_words
from actions.themes import (CHECK_STAGES, close_check, offer_themes, theme_step_reply, theme_words_first,
                            typed_at_check)
from actions.welcome import (ask_again, carer_reply, carry_on, means_carry_on, not_started, person_agrees,
                             welcome_first)
from actions.news import asks_for_news, tell_what_happened


class ActionPause(Action):
    """Take a break: everything is kept and the participant can come back any time."""

    def name(self) -> Text:
        return "action_pause"

    async def run(self, dispatcher, tracker, domain):
        app = services()
        if not sounds_like_stopping(tracker):
            # NLU read words of an answer as "stop" ("and we get ice cream"): never a pause the
            # person did not ask for. They are what they would be at this step.
            if tracker.get_slot("stage") == "add_more":
                return save_more(dispatcher, tracker) + [FollowupAction("action_listen")]
            if tracker.get_slot("stage") == "question" and tracker.active_loop_name == "answer_form":
                return [FollowupAction("answer_form")]  # the form takes them as the answer
            typed = typed_at_theme_step(dispatcher, tracker)
            if typed is not None:
                return typed
            if tracker.get_slot("stage") in CHECK_STAGES:  # a few words: not understood
                not_understood(dispatcher, tracker)
                return ask_again(dispatcher, tracker) + [FollowupAction("action_listen")]
        if not_started(tracker) and not app.conversation.progress(tracker.sender_id).consented:
            # "stop" as the very first message: there is nothing kept to talk about.
            dispatcher.utter_message(response="utter_pause_not_started")
            return end_form_events(tracker)
        if tracker.get_slot("stage") == "safeguard":
            # "Stop for now" after a disclosure: its question is answered, so coming back goes
            # on to the next one, never the same question straight after what they told us.
            app.conversation.next_question(tracker.sender_id)
        app.conversation.pause(tracker.sender_id)
        dispatcher.utter_message(response="utter_pause" if app.conversation.progress(
            tracker.sender_id).answer_count else "utter_pause_no_answers")
        return end_form_events(tracker)


# A whole message that is a stop, whatever NLU made of it.
STOP_WORDS = {"stop", "stop please", "please stop", "stop for now", "i want to stop", "pause",
              "take a break", "i need a break", "can we stop", "quit", "finish for now"}
# Words that say the person wants to stop, even when the rest of the message is long.
# Everyday words ("going", "later", "done") are left out: "we go to the park later" is an answer.
_STOPPING = re.compile(r"\b(?:stop|stopping|pause|quit|bye|goodbye|finish for now|another time|"
                       r"come back later|(?:take|need|have) a break|(?:have|got|need) to go|"
                       r"gotta go|i am tired|i'?m tired)\b", re.I)


def sounds_like_stopping(tracker) -> bool:
    """True for a stop: a button, a short command, or words that say so ("can we stop now")."""
    text = (tracker.latest_message or {}).get("text") or ""
    return is_short_reply(tracker, {"stop"}) or bool(_STOPPING.search(text))


class ActionStartAgain(Action):
    """Go back to the beginning; answers already given are kept."""

    def name(self) -> Text:
        return "action_start_again"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        other = only_guessed(dispatcher, tracker, {"start_again"})
        if other is not None:
            return other
        app = services()
        # Themes picked for the answer being checked are kept as the participant's.
        checked = close_check(tracker) if tracker.get_slot("stage") in CHECK_STAGES else []
        app.conversation.start_again(tracker.sender_id)
        dispatcher.utter_message(response="utter_start_again" if app.conversation.progress(
            tracker.sender_id).answer_count else "utter_start_again_no_answers")
        utter_introduction(dispatcher, app.engagement)
        return checked + end_form_events(tracker) + [SlotSet("stage", "consent"),
                                           SlotSet("adding_more", False),
                                           SlotSet("answer_text", None)]


class ActionRepeat(Action):
    """Send the assistant's last messages again, with their buttons."""

    def name(self) -> Text:
        return "action_repeat"

    async def run(self, dispatcher, tracker, domain):
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if not_started(tracker):  # "help" or "say that again" as the first message
            return await welcome_first(dispatcher, tracker, domain)
        other = only_guessed(dispatcher, tracker, {"help", "repeat"})  # "the park" read as repeat
        if other is not None:
            return other
        if intent == "help":
            # After the help: only what the chat waits for now (the theme check, the role
            # question ...), not the whole turn before ("Welcome back!", "We kept your answers").
            events = ask_again(dispatcher, tracker)
            if not dispatcher.messages and tracker.get_slot("stage") == "done" and \
                    services().conversation.progress(tracker.sender_id).status == "finished":
                dispatcher.utter_message(response="utter_already_done")  # not the last turn again
            if dispatcher.messages:
                return events
        messages = last_bot_messages(tracker.events)
        # After "help" the last turn was the help and then what the chat was waiting for:
        # "Say that again" means the latter, so the help is left out when there is more.
        others = [message for message in messages
                  if (message.get("metadata") or {}).get("utter_action") != "utter_help"]
        messages = others or messages
        for message in messages:
            data = message.get("data") or {}
            dispatcher.utter_message(text=message.get("text"), buttons=data.get("buttons") or [],
                                     json_message=data.get("custom"))
        if not messages:
            dispatcher.utter_message(response="utter_help")
        return []


class ActionKindFallback(Action):
    """Say kindly that the message was not understood and offer buttons."""

    def name(self) -> Text:
        return "action_kind_fallback"

    async def run(self, dispatcher, tracker, domain):
        # This also runs when no rule fits the message (Rasa's core fallback): it must end
        # the turn itself, or Rasa would run it again and again for the same message.
        if plain_words((tracker.latest_message or {}).get("text") or "") in STOP_WORDS:
            # "stop" that NLU was unsure of: a pause all the same
            return await ActionPause().run(dispatcher, tracker, domain) + [FollowupAction("action_listen")]
        if asks_for_news((tracker.latest_message or {}).get("text") or ""):
            # "what have you done about it", which NLU did not read as asking: the news, then
            # what the chat waits for, carrying on from before the message.
            tell_what_happened(dispatcher, tracker)
            ask_again(dispatcher, tracker)
            return [UserUtteranceReverted()]
        if tracker.get_slot("stage") == "add_more" and not is_command(tracker):
            # After "Do you want to add anything else?", typed words are simply more answer.
            return save_more(dispatcher, tracker) + [FollowupAction("action_listen")]
        typed = typed_at_theme_step(dispatcher, tracker)
        if typed is not None:
            return typed
        if more_after_the_end(tracker):
            # "Oh and I forgot to say the buses are rubbish": kept with the last question.
            return save_more(dispatcher, tracker) + [FollowupAction("action_listen")]
        if screen(dispatcher, tracker):
            return after_disclosure(dispatcher, tracker) + [FollowupAction("action_listen")]
        answered = delete_reply(tracker)  # "keep them" at "Do you want us to delete ...?"
        if answered is not None:
            return [FollowupAction(answered)]
        if not_started(tracker):  # a first message that is not "hello": the welcome
            return await welcome_first(dispatcher, tracker, domain)
        if means_carry_on(tracker):  # "carry on" typed, as the button after a break says
            return await carry_on(dispatcher, tracker, domain)
        agrees = carer_reply(tracker)  # "yes he is happy", read by NLU as something else
        if agrees is not None:  # a yes goes on to the first question, as the button does
            return person_agrees(dispatcher, tracker, agrees) + [
                FollowupAction("answer_form" if agrees else "action_listen")]
        corrected = correction(dispatcher, tracker)
        if corrected is not None:
            return corrected
        not_understood(dispatcher, tracker)
        # Then what the chat waits for (the theme check, the carer's question ...) with its
        # buttons, so nobody is left without a way on, and "Say that again" shows it too.
        ask_again(dispatcher, tracker)
        # Forget the message that was not understood, so the chat carries on from before it.
        return [UserUtteranceReverted()]


class ActionWhatHappened(Action):
    """You said, we did: what they told us about, and what is being done about it."""

    def name(self) -> Text:
        return "action_what_happened"

    async def run(self, dispatcher, tracker, domain):
        tell_what_happened(dispatcher, tracker)
        return []


class ActionPrivacy(Action):
    """"Is this secret?": answers stay private, unless someone may be at risk of harm."""

    def name(self) -> Text:
        return "action_privacy"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        other = only_guessed(dispatcher, tracker, {"ask_privacy"})  # "my mum reads it to me"
        if other is not None:
            return other
        dispatcher.utter_message(response="utter_privacy", **services().engagement.template_values())
        if not_started(tracker):  # asked before anything else: then the welcome
            return await welcome_first(dispatcher, tracker, domain)
        return []


class ActionEdited(Action):
    """A changed message (Telegram sends its new words): not read as an answer, but checked for
    a disclosure of harm like any other message."""

    def name(self) -> Text:
        return "action_edited"

    async def run(self, dispatcher, tracker, domain):
        words = next((entity.get("value") for entity in (tracker.latest_message or {}).get("entities") or []
                      if entity.get("entity") == "edited_words"), None)
        if isinstance(words, str) and words.strip() and screen(dispatcher, tracker, words):
            return after_disclosure(dispatcher, tracker) + [FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_cannot_see_edits")
        if tracker.active_loop_name == "answer_form":
            return []  # the question comes again
        ask_again(dispatcher, tracker)  # what the chat waits for, with its buttons
        return [UserUtteranceReverted()]  # the chat carries on from before the edit


class ActionSetUpdates(Action):
    """Keep the participant's choice to get news later (or to stop it)."""

    def name(self) -> Text:
        return "action_set_updates"

    async def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        wanted = intent in ("updates_yes", "affirm")
        if channel_of(tracker) not in NEWS_CHANNELS and intent != "stop_updates":
            # No news was offered here: a yes hears why, a no ("thanks" read as one) that all is
            # done. "Stop news" always stops it, wherever it is asked.
            dispatcher.utter_message(response="utter_no_news_here" if wanted else "utter_already_done")
            return []
        if not services().conversation.set_updates(tracker.sender_id, wanted):
            dispatcher.utter_message(response="utter_not_understood")
        elif wanted:
            # The transport keeps the address: the chat id never passes through Rasa.
            dispatcher.utter_message(response="utter_updates_yes",
                                     json_message={"keep_contact": True})
        else:
            dispatcher.utter_message(response="utter_updates_no")
        return []


def screen(dispatcher, tracker, text: Optional[str] = None) -> bool:
    """Check a message that is not an answer (or these words of it) for a disclosure; give the
    calm script if so."""
    app = services()
    if text is None:  # the message itself; NLU's reading of it counts too
        text, confidence = (tracker.latest_message or {}).get("text") or "", disclosure_confidence(tracker)
    else:
        confidence = None
    detection = app.conversation.screen_message(tracker.sender_id, text=text, channel=channel_of(tracker),
                                                intent_confidence=confidence)
    if detection is None:
        return False
    utter_safeguarding(dispatcher, app.engagement,
                       app.conversation.progress(tracker.sender_id).role, detection)
    return True


class ActionSafeguarding(ActionKindFallback):
    """A message NLU read as a disclosure of harm outside the questions: screened as every
    message the kind fallback reads is (NLU's confidence strengthens the detector's signs),
    then, if the detector finds none, read as what the words are at this step ("not yet, I
    need to ask him" at the carer's question, "money" at the theme check ...)."""

    def name(self) -> Text:
        return "action_safeguarding"


MORE_AFTER_THE_END_WORDS = 3


def more_after_the_end(tracker) -> bool:
    """True for words of an answer typed after the last question (three words or more, not a
    command, not "ok thanks"): more to say, not a message to refuse."""
    text = (tracker.latest_message or {}).get("text") or ""
    return (tracker.get_slot("stage") == "done" and not is_command(tracker)
            and len(text.split()) >= MORE_AFTER_THE_END_WORDS and not is_filler(text)
            and not is_payload(text.strip()))


def not_understood(dispatcher, tracker) -> None:
    """Say kindly that the message was not understood. At the theme check or pick, the
    buttons that follow are the way on: no Help / Say that again / Stop buttons as well."""
    dispatcher.utter_message(response="utter_not_understood_press"
                             if tracker.get_slot("stage") in CHECK_STAGES
                             else "utter_not_understood")


def typed_at_theme_step(dispatcher, tracker) -> Optional[list]:
    """Words typed instead of a button at the theme check or pick: theme names (or "all of
    them") pick them, "none of them", "not sure" and the like answer the check
    (theme_step_reply); three or more other words are more answer, kept and screened, and the
    check of the answer before ends with its themes as they were. None for anything else."""
    typed = theme_step_reply(dispatcher, tracker)
    if typed is not None:
        return typed
    if typed_at_check(tracker) and not is_command(tracker):
        return close_check(tracker) + save_more(dispatcher, tracker) \
            + [FollowupAction("action_listen")]
    return None


def correction(dispatcher, tracker) -> Optional[list]:
    """"It is about my home" at the theme check (once screened): a "no" in other words, so
    the themes to pick from. None for anything else."""
    text = (tracker.latest_message or {}).get("text") or ""
    if tracker.get_slot("stage") != "theme_check" or not is_correction(text):
        return None
    offer_themes(dispatcher)
    return [SlotSet("stage", "theme_pick"), SlotSet("picked_themes", []),
            FollowupAction("action_listen")]


def after_disclosure(dispatcher, tracker) -> list:
    """After the calm script for a message that was not an answer: at the theme check, the
    check ends (so a later "yes" cannot confirm it) and they are asked whether to carry on,
    as after an answer that discloses harm."""
    if tracker.get_slot("stage") is None:
        # Before anything else (the very first message): a way to start when they are ready.
        dispatcher.utter_message(response="utter_start_when_ready")
        return []
    if tracker.get_slot("stage") not in CHECK_STAGES:
        # Whatever the chat waited for ("Do you want to carry on?", the role ...) comes again.
        return ask_again(dispatcher, tracker)
    dispatcher.utter_message(response="utter_safeguarding_carry_on")
    return close_check(tracker) + [SlotSet("stage", "safeguard")]
