"""Actions for the open questions: ask, take the answer, save it, add more, move on."""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

log = logging.getLogger(__name__)

from actions.common import (YES_NO_INTENTS, channel_of, disclosure_confidence, end_form_events,
                            is_command, is_payload, is_short_reply, message_id_of,
                            question_events, reflection, seconds_since_said, services,
                            reply_to_leaving_check, sounds_like_leaving, utter_safeguarding)
from actions.news import asks_for_news, tell_what_happened
from actions.theme_words import plain_words
from actions.themes import check_themes, offer_themes
from bot.conversation import storable


class ActionAskAnswerText(Action):
    """Ask the participant's current question, worded for them or for the person they support."""

    def name(self) -> Text:
        return "action_ask_answer_text"

    async def run(self, dispatcher, tracker, domain):
        app = services()
        if tracker.get_slot("adding_more"):
            dispatcher.utter_message(response="utter_ask_more_answer")
            return []
        progress = app.conversation.progress(tracker.sender_id)
        question = app.engagement.question(progress.question_index)
        if question is None:
            dispatcher.utter_message(response="utter_already_done")
            return []
        dispatcher.utter_message(response="utter_ask_question",
                                 question=question.wording(progress.role),
                                 example=question.example)
        return []


class ValidateAnswerForm(FormValidationAction):
    """Take any message as the answer unless it is a command such as help or stop."""

    def name(self) -> Text:
        return "validate_answer_form"

    async def extract_answer_text(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        """Use the whole message as the answer, while the form is waiting for one."""
        if tracker.get_slot("requested_slot") != "answer_text" or is_command(tracker) \
                or is_bare_yes_no(tracker) or sounds_like_leaving(tracker):
            return {}  # not an answer: a rule acts on it (leaving is asked about first)
        return {"answer_text": (tracker.latest_message or {}).get("text") or ""}

    def validate_answer_text(self, value: Optional[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """An answer needs at least one visible character."""
        if value is None:  # the slot was only cleared, nobody typed anything
            return {"answer_text": None}
        value = storable(value)
        if not value.strip():
            dispatcher.utter_message(response="utter_empty_answer")
            return {"answer_text": None}
        if is_payload(value):  # a button from earlier, or one typed: not the participant's words
            dispatcher.utter_message(response="utter_not_understood")
            return {"answer_text": None}
        if asks_for_news(value):  # "what happend to my anwsers", whatever NLU made of it
            tell_what_happened(dispatcher, tracker)
            return {"answer_text": None}  # and the question again
        if asks_what_it_means(value):  # "what does that mean?": a question about the question
            dispatcher.utter_message(response="utter_explain_question")
            return {"answer_text": None}
        if not re.search(r"[^\W\d_]", value) and not _PICTURES.search(value):
            # Only numbers or marks ("5", "?", "..."): no words to keep. Emoji stay answers.
            dispatcher.utter_message(response="utter_answer_in_words")
            return {"answer_text": None}
        return {"answer_text": value}


# A message that asks what the question means, compared whole (lower case, letters only).
_WHAT_IT_MEANS = re.compile(
    r"^(?:sorry |but |um |erm |so |and |ok |okay )?(?:"
    r"what (?:does|do|did) (?:that|this|it|you|the question) (?:mean|say)|"
    r"what do you mean(?: by that| by this| by it)?|what is (?:that|this|it) (?:about|asking)|"
    r"what are you asking(?: me)?|what (?:is|was) the question|"
    r"i (?:do not|don't|dont) (?:understand|get it|get that|get the question|"
    r"know what (?:you mean|that means|it means|the question means))(?: the question| that| this| it| you)?|"
    r"(?:can|could) you explain(?: that| this| it| the question)?|explain(?: that| this| it| the question)?|"
    r"(?:can|could) you (?:say|ask|put) (?:it|that|this) (?:another|a different) way|"
    r"what|huh|pardon|eh|come again|i am confused|i'm confused|im confused|confused|"
    r"i (?:do not|don't|dont) understand what you mean)(?: please)?$")
# Emoji and other pictures: an answer even without letters.
_PICTURES = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]")


def asks_what_it_means(text: str) -> bool:
    """True for "what does that mean?", "I don't understand", "can you explain?" and the like."""
    return bool(_WHAT_IT_MEANS.match(plain_words(text)))


def is_bare_yes_no(tracker: Tracker) -> bool:
    """True for a yes or a no in a few words ("no", "not really", "I don't want to") typed at
    an open question: a reply to the chat, not an answer. "Nothing" stays an answer (to "What
    gets in the way?"), except after "What else do you want to tell us?"."""
    if not is_short_reply(tracker, YES_NO_INTENTS):
        return False
    words = ((tracker.latest_message or {}).get("text") or "").lower()
    return bool(tracker.get_slot("adding_more")) or "nothing" not in words


class ActionYesNoAtQuestion(Action):
    """A bare yes or no at an open question: ask for their own words, offering Skip. After
    "What else do you want to tell us?", "no" means nothing more: on to the next question."""

    def name(self) -> Text:
        return "action_yes_no_at_question"

    async def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        check = reply_to_leaving_check(tracker)
        if check == "leave":  # "Do you want to stop taking part?" "Yes"
            return withdraw(dispatcher, tracker) + [FollowupAction("action_listen")]
        if check == "stay":  # "No": the question again (the form asks it)
            dispatcher.utter_message(response="utter_here_again")
            return [ActiveLoop("answer_form"), SlotSet("requested_slot", "answer_text"),
                    SlotSet("stage", "question")]
        if tracker.get_slot("adding_more") and intent == "deny":
            app = services()
            question = app.conversation.next_question(tracker.sender_id)
            return end_form_events(tracker) + question_events(question, dispatcher,
                                                              app.engagement, tracker)
        if not tracker.get_slot("adding_more"):
            dispatcher.utter_message(response="utter_answer_in_words")
        # The form stays open and asks again: the question with its Skip button, or "What else
        # do you want to tell us?" after a "yes". (Rasa's rules want this action to say, each
        # time, which loop and stage follow it.)
        return [ActiveLoop("answer_form"), SlotSet("requested_slot", "answer_text"),
                SlotSet("stage", "question")]


class ActionSaveAnswer(Action):
    """Save the answer word for word, say it back, and ask if there is more."""

    def name(self) -> Text:
        return "action_save_answer"

    async def run(self, dispatcher, tracker, domain):
        text = tracker.get_slot("answer_text") or ""
        return [SlotSet("answer_text", None), SlotSet("adding_more", False)] \
            + store_and_reply(dispatcher, tracker, text, asked=True)


class ActionSaveMore(Action):
    """Save words typed straight away instead of pressing yes, as one more answer."""

    def name(self) -> Text:
        return "action_save_more"

    async def run(self, dispatcher, tracker, domain):
        return save_more(dispatcher, tracker)


def save_more(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Save the latest message as one more answer to the current question."""
    text = storable((tracker.latest_message or {}).get("text") or "")
    if not text.strip():
        dispatcher.utter_message(response="utter_ask_add_more")
        return [SlotSet("stage", "add_more")]
    if is_payload(text):  # a button from earlier, or one typed: not the participant's words
        dispatcher.utter_message(response="utter_not_understood")
        dispatcher.utter_message(response="utter_ask_add_more")
        return [SlotSet("stage", "add_more")]
    if is_filler(text):  # "maybe", "ok", a smiley: a reply to the yes or no, not an answer
        dispatcher.utter_message(response="utter_press_yes_or_no")
        return [SlotSet("stage", "add_more")]
    if asks_for_news(text):  # "any news?": the news, then the question again
        tell_what_happened(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ask_add_more")
        return [SlotSet("stage", "add_more")]
    return store_and_reply(dispatcher, tracker, text)


# Words that, alone, reply to "Do you want to add anything else?" rather than add to the answer.
FILLER_WORDS = {"maybe", "perhaps", "possibly", "probably", "ok", "okay", "okey", "k", "kk",
                "hmm", "hm", "hmmm", "mm", "mmm", "um", "umm", "er", "erm", "uh", "ah", "oh",
                "idk", "dunno", "not", "sure", "unsure", "whatever", "fine", "lol", "thanks",
                "thank", "you", "ta", "cheers", "so", "well", "i", "dont", "don't", "know",
                "think", "might", "later", "then", "right", "alright", "cool", "nice", "great"}
_LETTERS = re.compile(r"[^\W_]", re.UNICODE)  # a letter or digit in any script
_FILLER_WORDS = re.compile(r"[\w']+", re.UNICODE)


def is_filler(text: str) -> bool:
    """True for a reply with no words of an answer: only emoji or marks, or a few words
    such as "maybe" or "ok".  Anything else typed after "add anything else?" is kept."""
    if not _LETTERS.search(text):
        return True
    words = _FILLER_WORDS.findall(text.lower())
    return len(words) <= 4 and all(word in FILLER_WORDS for word in words)


ONE_WORD_CONFIDENCE = 0.9


def typed_more(tracker: Tracker, intent: str) -> bool:
    """True when, after "Do you want to add anything else?", NLU read the message as yes or
    no but it is really more answer ("green grass" read as yes): not a button, nor a few
    words a yes or no uses."""
    message = tracker.latest_message or {}
    latest = message.get("intent") or {}
    if tracker.get_slot("stage") != "add_more" or latest.get("name") != intent:
        return False
    if is_short_reply(tracker, {intent}):
        return False
    # One word NLU is sure of is a yes or no spelled its own way ("noo", "yeh").
    one_word = len((message.get("text") or "").split()) == 1
    return not (one_word and (latest.get("confidence") or 0.0) >= ONE_WORD_CONFIDENCE)


def save_typed_more(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Save the message as more answer and wait for the next one (the rule that chose this
    action expected a yes or a no, so the turn ends here)."""
    return save_more(dispatcher, tracker) + [FollowupAction("action_listen")]


SLOW_DOWN_AGAIN_AFTER = 10.0  # seconds


def store_and_reply(dispatcher: CollectingDispatcher, tracker: Tracker,
                    text: str, asked: bool = False) -> List[Dict[Text, Any]]:
    """Save an answer (its callers have dropped control characters already); reflect it back,
    or after a disclosure give the calm script. `asked`: the answer came to the question (or
    "What else?") just asked: if the answer cannot be kept, the question is asked again."""
    app = services()
    result = app.conversation.save_answer(
        tracker.sender_id, text=text, channel=channel_of(tracker),
        message_id=message_id_of(tracker), intent_confidence=disclosure_confidence(tracker))
    if result.refused == "flood":
        # One kind word per flood; the rest of the flood gets no reply and is not stored. Said
        # again to a message sent a while after it: a person sending again, as it asked.
        since = seconds_since_said(tracker, "utter_slow_down")
        if not tracker.get_slot("slowed_down") or (since is not None and since >= SLOW_DOWN_AGAIN_AFTER):
            dispatcher.utter_message(response="utter_slow_down")
        return [SlotSet("slowed_down", True), SlotSet("stage", "add_more")]
    if result.refused == "too_long":
        dispatcher.utter_message(response="utter_too_long")
        if asked:  # nothing was kept: the same question again (or "What else ...?")
            return [SlotSet("stage", "question"),
                    SlotSet("adding_more", bool(tracker.get_slot("adding_more"))),
                    FollowupAction("answer_form")]
        dispatcher.utter_message(response="utter_ask_add_more")
        return [SlotSet("stage", "add_more")]
    if result.disclosure is not None:
        progress = app.conversation.progress(tracker.sender_id)
        utter_safeguarding(dispatcher, app.engagement, progress.role, result.disclosure)
        if app.engagement.question(progress.question_index + 1) is None:
            # The last question: there are none to carry on with, so the chat ends kindly.
            app.conversation.next_question(tracker.sender_id)
            return end_form_events(tracker) + question_events(None, dispatcher, app.engagement,
                                                              tracker) \
                + [FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_safeguarding_carry_on")
        return [SlotSet("stage", "safeguard")]
    dispatcher.utter_message(response="utter_reflect", answer=reflection(text))
    # A message delivered again keeps the themes it has; only a new answer is tagged.
    themes = suggested_themes(app, result.answer_id) if result.created \
        else app.tagging.themes_of(result.answer_id) if result.answer_id else []
    if themes:
        # Listen, write, check: ask whether we understood what the answer is about.
        check_themes(dispatcher, themes)
        return [SlotSet("stage", "theme_check"), SlotSet("checking_answer", result.answer_id),
                SlotSet("checking_themes", themes), SlotSet("slowed_down", False)]
    if result.created and result.answer_id is not None:
        # No theme found: the participant says what it is about (or "None of these") rather
        # than the answer going untagged. A message delivered again is not asked about twice.
        dispatcher.utter_message(response="utter_themes_not_found")
        offer_themes(dispatcher)
        return [SlotSet("stage", "theme_pick"), SlotSet("checking_answer", result.answer_id),
                SlotSet("picked_themes", []), SlotSet("slowed_down", False)]
    dispatcher.utter_message(response="utter_ask_add_more")
    return [SlotSet("stage", "add_more"), SlotSet("slowed_down", False)]


def suggested_themes(app, answer_id) -> List[str]:
    """The tagger's themes for a new answer; none if tagging is not possible right now."""
    if answer_id is None:
        return []
    try:
        return app.tagging.tag_answer(answer_id)
    except Exception as exc:  # themes are a help, never a reason to stop the conversation
        log.error("Could not tag an answer: %s", exc.__class__.__name__)
        return []


class ActionAddMore(Action):
    """Open the same question again for one more answer."""

    def name(self) -> Text:
        return "action_add_more"

    async def run(self, dispatcher, tracker, domain):
        if reply_to_leaving_check(tracker) == "leave":  # "Do you want to stop taking part?" "Yes"
            return withdraw(dispatcher, tracker) + [FollowupAction("action_listen")]
        if typed_more(tracker, "affirm"):
            return save_typed_more(dispatcher, tracker)
        return [SlotSet("stage", "question"), SlotSet("adding_more", True),
                SlotSet("answer_text", None)]


class ActionNextQuestion(Action):
    """Go on to the next question, or finish after the last one."""

    def name(self) -> Text:
        return "action_next_question"

    async def run(self, dispatcher, tracker, domain):
        if reply_to_leaving_check(tracker) == "stay":  # "Do you want to stop taking part?" "No"
            dispatcher.utter_message(response="utter_ask_add_more")
            return [SlotSet("stage", "add_more"), FollowupAction("action_listen")]
        if typed_more(tracker, "deny"):
            return save_typed_more(dispatcher, tracker)
        app = services()
        question = app.conversation.next_question(tracker.sender_id)
        return question_events(question, dispatcher, app.engagement, tracker)


def withdraw(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Record that the participant no longer takes part, and say so; their answers stay."""
    app = services()
    app.conversation.withdraw_consent(tracker.sender_id)
    dispatcher.utter_message(response="utter_withdrawn" if app.conversation.progress(
        tracker.sender_id).answer_count else "utter_withdrawn_no_answers")
    return end_form_events(tracker) + [SlotSet("stage", "declined")]


class ActionSkipQuestion(Action):
    """Skip a question (or 'I don't know') kindly and go on."""

    def name(self) -> Text:
        return "action_skip_question"

    async def run(self, dispatcher, tracker, domain):
        app = services()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        question = app.conversation.next_question(tracker.sender_id)
        if intent == "dont_know":
            response = "utter_dont_know_ok" if question else "utter_dont_know_ok_last"
        else:
            response = "utter_skip_ok" if question else "utter_skip_ok_last"
        dispatcher.utter_message(response=response)
        return end_form_events(tracker) + question_events(question, dispatcher, app.engagement,
                                                          tracker)


def only_guessed(dispatcher, tracker, intents) -> Optional[list]:
    """When NLU only guessed one of these steering intents (the words are not the command's own,
    as "the park" read as "say that again"), what the message is at this step instead: the
    answer (the question's form, next, takes it), more answer after "add anything else?", or
    whatever the kind fallback makes of it (a piece of the answer, a theme's name ...). None for
    the command itself, typed or pressed."""
    if is_short_reply(tracker, intents):
        return None
    if tracker.active_loop_name == "answer_form":
        return []
    if tracker.get_slot("stage") == "add_more":
        return save_more(dispatcher, tracker) + [FollowupAction("action_listen")]
    return [FollowupAction("action_kind_fallback")]
