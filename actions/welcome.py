"""Actions for the start: welcome, consent, role and a carer's check that the person agrees."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (NEWS_CHANNELS, channel_of, delete_question, metadata_of,
                            seconds_since_previous, services, utter_introduction)
from actions.theme_words import plain_words
from actions.themes import check_themes, offer_themes, theme_words_first
from bot.store.staff_queries import as_utc

ROLES = {"role_self": "self", "role_on_behalf": "on_behalf",
         "role_support_worker": "support_worker"}


class ActionWelcome(Action):
    """Welcome a new participant, or take a returning one back to where they were."""

    def name(self) -> Text:
        return "action_welcome"

    @theme_words_first
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        app = services()
        progress = app.conversation.progress(tracker.sender_id)
        if not progress.consented:
            if app.conversation.sound_preference(tracker.sender_id) is None:
                dispatcher.utter_message(response="utter_ask_sound")
                return [SlotSet("stage", "sound")]
            utter_introduction(dispatcher, app.engagement)
            return [SlotSet("stage", "consent")]
        if tracker.get_slot("stage") == "consent":
            # After "start again", "Do you want to take part?" still waits for its answer.
            dispatcher.utter_message(response="utter_ask_consent")
            return [SlotSet("stage", "consent")]
        app.conversation.resume(tracker.sender_id)
        if progress.status == "finished" or app.engagement.question(progress.question_index) is None:
            dispatcher.utter_message(response="utter_already_done")
            summary = app.conversation.you_said_we_did(tracker.sender_id)
            # News this chat has not told them, and `notify` has not sent them on Telegram.
            unheard = [] if summary is None else app.conversation.news_not_sent(
                tracker.sender_id, summary.actions)
            if unheard and not heard_news_since(
                    tracker, max(as_utc(action.updated_at) for action in unheard)):
                # On the web chat and REST this is the only way news reaches them (said only
                # while there is news they have not heard in this chat).
                dispatcher.utter_message(response="utter_have_news")
            return [SlotSet("stage", "done")]
        if progress.status == "paused" or back_after_a_while(tracker):
            dispatcher.utter_message(response="utter_welcome_back")
        return ask_where_they_were(dispatcher, tracker, progress) \
            or [SlotSet("stage", "question"), SlotSet("answer_text", None)]


# The news told in the chat: one of these for each action (actions/news.py).
NEWS_ITEMS = ("utter_update_item_planned", "utter_update_item_doing", "utter_update_item_done")


def heard_news_since(tracker: Tracker, changed: datetime) -> bool:
    """True when this chat told them the news (the list of actions) after its last change."""
    heard = [event.get("timestamp") or 0.0 for event in tracker.events
             if event.get("event") == "bot"
             and (event.get("metadata") or {}).get("utter_action") in NEWS_ITEMS]
    return bool(heard) and max(heard) >= changed.timestamp()


def ask_where_they_were(dispatcher: CollectingDispatcher, tracker: Tracker, progress,
                        stage: Optional[str] = None) -> List[Dict[Text, Any]]:
    """Ask again what the chat is waiting for (role, carer check, theme check or pick, add
    more) and return its stage; [] when it waits for none of these (a question, or nothing)."""
    app = services()
    stage = stage or tracker.get_slot("stage")
    # After "start again" the role is asked anew, though the one given before is still known.
    if progress.role is None or stage == "role":
        dispatcher.utter_message(response="utter_ask_role")
        return [SlotSet("stage", "role")]
    if progress.on_behalf and not progress.person_agrees:
        dispatcher.utter_message(response="utter_ask_person_agrees")
        return [SlotSet("stage", "carer_agree")]
    checking = tracker.get_slot("checking_answer")
    if stage == "theme_check" and checking:
        # Still waiting for "is that right?": ask it again, not the question before it.
        themes = app.tagging.themes_of(checking)
        if themes:
            check_themes(dispatcher, themes)
            return [SlotSet("stage", "theme_check"), SlotSet("checking_themes", themes)]
    if stage == "theme_pick" and checking:
        picked = tracker.get_slot("picked_themes") or []
        if picked:  # say what is chosen so far, so "That is all" (or "no") is not a surprise
            dispatcher.utter_message(response="utter_themes_picked",
                                     themes=app.tagging.labels(picked))
        offer_themes(dispatcher, picked, more=bool(picked))
        return [SlotSet("stage", "theme_pick")]
    if stage in ("add_more", "theme_check", "theme_pick"):
        dispatcher.utter_message(response="utter_ask_add_more")
        return [SlotSet("stage", "add_more")]
    return []


class ActionAskAgain(Action):
    """After a side question ("What happened to my answers?", "What do you keep about me?"),
    ask again what the chat was waiting for, so the participant knows what to do next."""

    def name(self) -> Text:
        return "action_ask_again"

    async def run(self, dispatcher, tracker, domain):
        return ask_again(dispatcher, tracker)


def not_started(tracker: Tracker) -> bool:
    """True before the chat has begun: no step yet, and nothing said before the latest message
    (a first message that was not "hello")."""
    if tracker.get_slot("stage") is not None:
        return False
    users = [index for index, event in enumerate(tracker.events) if event.get("event") == "user"]
    before = tracker.events[:users[-1]] if users else []
    return not any(event.get("event") == "bot" for event in before)


# "Carry on" typed, as the button after a break says (the button itself sends /greet).
_CARRY_ON = {"carry on", "carry on please", "lets carry on", "let's carry on", "can we carry on",
             "i want to carry on", "i would like to carry on", "carry on with the questions",
             "continue", "continue please", "lets continue", "let's continue", "can we continue",
             "i want to continue", "resume", "keep going", "back to the questions"}


def means_carry_on(tracker: Tracker) -> bool:
    """True for "carry on", "continue" and the like, typed."""
    return plain_words((tracker.latest_message or {}).get("text") or "") in _CARRY_ON


async def carry_on(dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> List:
    """What "Carry on" (hello) does: back to where they were, the question asked if that is
    where; the turn ends there."""
    events = await ActionWelcome().run(dispatcher, tracker, domain)
    at_question = any(event.get("event") == "slot" and event.get("name") == "stage"
                      and event.get("value") == "question" for event in events)
    return events + [FollowupAction("answer_form" if at_question else "action_listen")]


async def welcome_first(dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> List:
    """A first message that is not "hello" (help, sound on, "yes", words): the welcome, as for
    "hello", so nobody starts at a dead end; the turn ends there."""
    return await ActionWelcome().run(dispatcher, tracker, domain) + [FollowupAction("action_listen")]


def ask_again(dispatcher: CollectingDispatcher, tracker: Tracker,
              stage: Optional[str] = None) -> List[Dict[Text, Any]]:
    """Ask again what the chat waits for at this stage (default: the tracker's); say nothing
    when it waits for nothing."""
    stage = stage or tracker.get_slot("stage")
    if stage == "confirm_delete":
        dispatcher.utter_message(response=delete_question(tracker))
        return []
    if stage in FIXED_PROMPTS:
        dispatcher.utter_message(response=FIXED_PROMPTS[stage])
        return []
    if stage == "done" and channel_of(tracker) in NEWS_CHANNELS:
        # At the end, where news can be sent: "Can we send you a message...?" if not answered.
        progress = services().conversation.progress(tracker.sender_id)
        if progress.status == "finished" and progress.wants_updates is None:
            dispatcher.utter_message(response="utter_ask_updates")
        return []
    if stage not in WAITING_STAGES and stage not in ("question", None):
        return []
    progress = services().conversation.progress(tracker.sender_id)
    if not progress.consented:
        return []
    if progress.status == "paused" and stage not in WAITING_STAGES:
        # Stopped for now: the way back, so "Say that again" never only repeats "Sorry".
        dispatcher.utter_message(response="utter_paused")
        return []
    if stage not in WAITING_STAGES:
        return []
    return ask_where_they_were(dispatcher, tracker, progress, stage)


# Stages whose question is always the same message.
FIXED_PROMPTS = {"sound": "utter_ask_sound", "consent": "utter_ask_consent",
                 "safeguard": "utter_safeguarding_carry_on"}
# Stages where the chat waits for a reply that ask_where_they_were can ask for again.
WAITING_STAGES = ("role", "carer_agree", "theme_check", "theme_pick", "add_more")
# A "hello" this soon after the last message is part of the same visit: no "Welcome back".
WELCOME_BACK_AFTER_SECONDS = 30 * 60


def back_after_a_while(tracker: Tracker) -> bool:
    """True unless the participant's previous message was only a short while ago."""
    gap = seconds_since_previous(tracker)
    return gap is None or gap >= WELCOME_BACK_AFTER_SECONDS


class ActionGiveConsent(Action):
    """Record consent, then ask who the participant is answering for."""

    def name(self) -> Text:
        return "action_give_consent"

    async def run(self, dispatcher, tracker, domain):
        services().conversation.give_consent(
            tracker.sender_id, channel=channel_of(tracker),
            language=metadata_of(tracker).get("language"))
        dispatcher.utter_message(response="utter_ask_role")
        return [SlotSet("stage", "role")]


class ActionRefuseConsent(Action):
    """End kindly; for someone new, only a count is kept."""

    def name(self) -> Text:
        return "action_refuse_consent"

    async def run(self, dispatcher, tracker, domain):
        services().conversation.refuse_consent(tracker.sender_id)
        dispatcher.utter_message(response="utter_consent_refused")
        return [SlotSet("stage", "declined")]


class ActionSetRole(Action):
    """Record the participant's role; a carer is asked whether the person agrees."""

    def name(self) -> Text:
        return "action_set_role"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        role = ROLES.get((tracker.latest_message.get("intent") or {}).get("name"), "self")
        if role == "self" and tracker.get_slot("stage") == "carer_agree":
            # "They will answer for themselves": the questions that follow are for them.
            dispatcher.utter_message(response="utter_they_answer_now")
        services().conversation.set_role(tracker.sender_id, role)
        if role == "on_behalf":
            dispatcher.utter_message(response="utter_ask_person_agrees")
            return [SlotSet("stage", "carer_agree")]
        return [SlotSet("stage", "question"), SlotSet("adding_more", False)]


class ActionPersonAgrees(Action):
    """Record whether the person a carer answers for knows and agrees."""

    def name(self) -> Text:
        return "action_person_agrees"

    async def run(self, dispatcher, tracker, domain):
        agrees = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        return person_agrees(dispatcher, tracker, agrees)


def person_agrees(dispatcher: CollectingDispatcher, tracker: Tracker,
                  agrees: bool) -> List[Dict[Text, Any]]:
    """Record the carer's answer: the person agrees (the questions follow) or not yet."""
    services().conversation.set_person_agrees(tracker.sender_id, agrees)
    if agrees:
        dispatcher.utter_message(response="utter_carer_thanks")
        return [SlotSet("stage", "question"), SlotSet("adding_more", False)]
    dispatcher.utter_message(response="utter_carer_ask_first")
    return [SlotSet("stage", "carer_agree")]


_CARER_YES = re.compile(r"^\s*(yes|yeah|yep|yup|ya|aye|ok|okay|sure)\b", re.I)
_CARER_NO = re.compile(r"^\s*(no|nope|nah|not)\b", re.I)
_NEGATIONS = {"no", "not", "isn't", "isnt", "doesn't", "doesnt", "don't", "dont", "won't", "wont"}


def carer_reply(tracker: Tracker) -> Optional[bool]:
    """At "Is the person happy for you to answer for them?", a reply in a carer's own words
    that NLU did not read as yes or no: "yes he is happy" (True), "no she is out" (False);
    None for anything else (a yes with a "not" in it is not a clear yes)."""
    if tracker.get_slot("stage") != "carer_agree":
        return None
    text = (tracker.latest_message or {}).get("text") or ""
    if _CARER_NO.match(text):
        return False
    if _CARER_YES.match(text) and not _NEGATIONS & set(re.findall(r"[a-z']+", text.lower())):
        return True
    return None


def sound_response(tracker: Tracker, sound_on: bool) -> str:
    """The response that confirms a sound choice. The web chat never plays a message by
    itself, so there sound on says to press Listen; elsewhere it says how to stop it."""
    if not sound_on:
        return "utter_sound_off"
    return "utter_sound_on_web" if channel_of(tracker) == "web" else "utter_sound_on"


class ActionChooseSound(Action):
    """Keep the first choice to hear messages read out, then give the introduction."""

    def name(self) -> Text:
        return "action_choose_sound"

    async def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        app = services()
        sound_on = intent in ("sound_on", "affirm")
        app.conversation.set_sound(tracker.sender_id, sound_on, channel=channel_of(tracker))
        # Say how to change it later; the first message heard out loud says so too.
        dispatcher.utter_message(response=sound_response(tracker, sound_on))
        utter_introduction(dispatcher, app.engagement)
        return [SlotSet("stage", "consent")]


class ActionSetSound(Action):
    """Switch reading messages out loud on or off at any time."""

    def name(self) -> Text:
        return "action_set_sound"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        if means_carry_on(tracker):  # "carry on" read as "sound on"
            return await carry_on(dispatcher, tracker, domain)
        sound_on = (tracker.latest_message.get("intent") or {}).get("name") == "sound_on"
        services().conversation.set_sound(tracker.sender_id, sound_on, channel=channel_of(tracker))
        dispatcher.utter_message(response=sound_response(tracker, sound_on))
        if not_started(tracker):  # "sound on" as the first message: then the introduction
            return await welcome_first(dispatcher, tracker, domain)
        return []
