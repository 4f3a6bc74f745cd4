"""Actions for checking an answer's themes with the participant: listen, write, check, adjust."""
from __future__ import annotations

import abc
import functools
import re
from typing import List, Optional, Text

from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet

from actions.common import is_payload, previous_message, seconds_since_previous, services, stray_payload
from actions.theme_words import (is_correction, means_all_shown, no_but, only_small_words, plain_words,
                                 taken_off, themes_named, typed_reply, yes_and)


def _answer_id(tracker):
    value = tracker.get_slot("checking_answer")
    return int(value) if value is not None else None


CHECK_STAGES = ("theme_check", "theme_pick")
MORE_ANSWER_WORDS = 3  # typed at the check or pick, this many words or more are more answer
# A shorter message this soon after the answer, at its check, is the answer's next piece: some
# people send "I like" / "going to" / "the park" as quick messages.
PIECE_SECONDS = 10.0


def typed_at_check(tracker) -> bool:
    """True when, at the theme check or pick, the participant typed words of an answer (three
    or more, not "it is about ...", or fewer sent straight after the answer as its next piece)
    instead of pressing a button: they are kept as more answer."""
    if tracker.get_slot("stage") not in CHECK_STAGES:
        return False
    text = (tracker.latest_message or {}).get("text") or ""
    if text.strip().startswith("/") or is_correction(text) or only_small_words(text):
        return False
    return len(text.split()) >= MORE_ANSWER_WORDS or _next_piece(tracker, text)


def _next_piece(tracker, text: str) -> bool:
    """True for a few words (not a question) sent within PIECE_SECONDS of the answer being checked,
    before any button was pressed."""
    if not plain_words(text) or text.rstrip().endswith("?"):
        return False
    before, gap = previous_message(tracker), seconds_since_previous(tracker)
    return before is not None and gap is not None and gap <= PIECE_SECONDS \
        and not is_payload(before.get("text") or "")


def typed_themes(tracker) -> List:
    """The themes a participant typed at the theme check or while picking: the one whose name
    they typed ("money", "Being safe"), several names in a list ("money and being safe"), or
    all of them ("all of them" while picking; at the check it means the themes shown are
    right); [] when any part of the words names no theme or more than one."""
    if tracker.get_slot("stage") not in CHECK_STAGES:
        return []
    text = (tracker.latest_message or {}).get("text") or ""
    return themes_named(text, services().engagement.themes)


def theme_step_reply(dispatcher, tracker) -> Optional[List]:
    """Answer words typed at the theme check or pick that name themes, or that mean none of
    them, not sure, no or something unclear, whichever action NLU sent them to; the turn ends
    there. None when the words are none of these, or a button."""
    text = (tracker.latest_message or {}).get("text") or ""
    stage = tracker.get_slot("stage")
    if stage not in CHECK_STAGES or text.strip().startswith("/"):
        return None
    if stage == "theme_check" and means_all_shown(text):
        # "All of them" about the themes shown: they are all right.
        return _confirm(dispatcher, tracker) + [FollowupAction("action_listen")]
    taken = taken_off(text) if stage == "theme_pick" else None
    if taken:
        named = themes_named(taken, services().engagement.themes)
        if named:
            return take_off(dispatcher, tracker, named) + [FollowupAction("action_listen")]
    themes = typed_themes(tracker)
    if themes:
        return pick(dispatcher, tracker, themes) + [FollowupAction("action_listen")]
    # "no its about money": a no, and the themes it is about instead. While picking, only with
    # "about": "no, money" there could take money back.
    about = bool(re.search(r"\babout\b", text, re.I))
    instead = no_but(text) if stage == "theme_check" or about else None
    if instead:
        named = themes_named(instead, services().engagement.themes)
        if named:
            return pick(dispatcher, tracker, named) + [FollowupAction("action_listen")]
        if about and stage == "theme_check":  # "no it's about my friends": the themes to pick
            return pick_again(dispatcher, tracker) + [FollowupAction("action_listen")]
    also = yes_and(text) if stage == "theme_check" else None
    named = themes_named(also, services().engagement.themes) if also else []
    if named:  # "yes and being accepted too": the themes shown and these
        return pick(dispatcher, tracker, named, keep=tracker.get_slot("checking_themes") or []) \
            + [FollowupAction("action_listen")]
    meaning = typed_reply(text)
    if meaning == "done" and stage == "theme_check":  # "that's it": the themes shown are right
        meaning = "right"
    if meaning == "right" and stage == "theme_check":
        return _confirm(dispatcher, tracker) + [FollowupAction("action_listen")]
    if meaning == "right":  # "yes" while picking: the buttons are the way on
        meaning = "unclear"
    if not meaning:
        return None
    picked = list(tracker.get_slot("picked_themes") or [])
    if meaning == "pick again":  # at the check, picking starts: the same as "No"
        return pick_again(dispatcher, tracker) + [FollowupAction("action_listen")]
    if meaning == "unclear" or (meaning == "no" and stage == "theme_pick" and not picked):
        dispatcher.utter_message(response="utter_press_a_theme")
        if stage == "theme_check":
            check_themes(dispatcher, tracker.get_slot("checking_themes") or [])
        else:
            offer_themes(dispatcher, picked, more=bool(picked))
        return [FollowupAction("action_listen")]
    if meaning == "no" and stage == "theme_check":
        offer_themes(dispatcher)
        return [SlotSet("stage", "theme_pick"), SlotSet("picked_themes", []),
                FollowupAction("action_listen")]
    if meaning == "done" and not picked:  # "That is all" before any pick: as the button says
        dispatcher.utter_message(response="utter_none_picked_yet")
        offer_themes(dispatcher)
        return [FollowupAction("action_listen")]
    if meaning == "not sure" and not picked:
        return _after_check(dispatcher) + [FollowupAction("action_listen")]
    # None of them (none picked), or what was picked is all: the participant's own choice.
    if _answer_id(tracker) is not None:
        services().tagging.choose(_answer_id(tracker), picked)
    return _after_check(dispatcher) + [FollowupAction("action_listen")]


def theme_words_first(run):
    """For the run() of an action NLU may choose for words typed at the theme check or pick
    (a theme's name read as a greeting, "remove being safe" read as deleting): those words are
    answered first by theme_step_reply, whichever action it is; anything else goes to run()."""
    @functools.wraps(run)
    async def run_after_theme_words(self, dispatcher, tracker, domain):
        typed = theme_step_reply(dispatcher, tracker)
        return typed if typed is not None else await run(self, dispatcher, tracker, domain)
    return run_after_theme_words


def check_themes(dispatcher, themes) -> None:
    """Listen, write, check: "I think this is about: ... Is that right?" with its buttons."""
    dispatcher.utter_message(response="utter_check_themes", themes=services().tagging.labels(themes))


def close_check(tracker) -> List:
    """End the theme check without an answer to it: the themes picked so far are the
    participant's, otherwise the tagger's stay as they were (automatic: never confirmed; an
    answer left with no theme would read as the tagger's "none")."""
    picked = list(tracker.get_slot("picked_themes") or [])
    answer_id = _answer_id(tracker)
    if tracker.get_slot("stage") == "theme_pick" and picked and answer_id is not None:
        services().tagging.choose(answer_id, picked)
    return [SlotSet("checking_answer", None), SlotSet("checking_themes", None),
            SlotSet("picked_themes", [])]


def _after_check(dispatcher) -> List:
    dispatcher.utter_message(response="utter_thanks_for_checking")
    dispatcher.utter_message(response="utter_ask_add_more")
    return [SlotSet("stage", "add_more"), SlotSet("checking_answer", None),
            SlotSet("checking_themes", None), SlotSet("picked_themes", [])]


class ThemeStepAction(Action, metaclass=abc.ABCMeta):
    """An action Rasa runs for a reply at the theme check or pick. Words typed there mean what
    they say (theme_step_reply), whichever intent NLU read them as; a button or anything else
    goes to act(). (Abstract, so the action server does not register it as an action.)"""

    async def run(self, dispatcher, tracker, domain):
        if stray_payload(tracker):  # "/nonsense" typed: not understood, whatever NLU guessed
            return [FollowupAction("action_kind_fallback")]
        typed = theme_step_reply(dispatcher, tracker)
        return typed if typed is not None else self.act(dispatcher, tracker)

    @abc.abstractmethod
    def act(self, dispatcher, tracker) -> List:
        """What the action does for a button press (or words that are none of the above)."""


class ActionConfirmThemes(ThemeStepAction):
    """The participant agrees: the suggested themes become theirs."""

    def name(self) -> Text:
        return "action_confirm_themes"

    def act(self, dispatcher, tracker):
        return _confirm(dispatcher, tracker)


def _confirm(dispatcher, tracker) -> List:
    """The themes shown at the check are right: they become the participant's."""
    if _answer_id(tracker) is not None:
        # What they were shown, even if the tagger has been retrained since.
        services().tagging.confirm(_answer_id(tracker), tracker.get_slot("checking_themes"))
    return _after_check(dispatcher)


class ActionKeepThemes(ThemeStepAction):
    """The participant is not sure: the tagger's themes stay, marked as automatic."""

    def name(self) -> Text:
        return "action_keep_themes"

    def act(self, dispatcher, tracker):
        return _after_check(dispatcher)


class ActionOfferThemes(ThemeStepAction):
    """Show every theme as a button, so the participant can pick the right ones."""

    def name(self) -> Text:
        return "action_offer_themes"

    def act(self, dispatcher, tracker):
        offer_themes(dispatcher)
        return [SlotSet("stage", "theme_pick"), SlotSet("picked_themes", [])]


def offer_themes(dispatcher, picked=(), more: bool = False) -> None:
    """Every theme not picked yet as a button, then the way to finish. more: just after a
    pick, the buttons come again (a pressed keyboard goes away), asking for any others."""
    buttons = [{"title": theme.label, "payload": f'/choose_theme{{"theme":"{theme.id}"}}'}
               for theme in services().engagement.themes if theme.id not in picked]
    if buttons:
        dispatcher.utter_message(response="utter_pick_more_themes" if more else "utter_pick_themes",
                                 buttons=buttons)
    # Once something is picked, "None of these" would throw the picks away: only "That is all".
    dispatcher.utter_message(response="utter_pick_themes_done_picked" if picked
                             else "utter_pick_themes_done")


class ActionPickTheme(ThemeStepAction):
    """Add one theme the participant pressed."""

    def name(self) -> Text:
        return "action_pick_theme"

    def act(self, dispatcher, tracker):
        theme_id = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                         if e.get("entity") == "theme"), None)
        theme = services().engagement.theme_by_id(theme_id) if theme_id else None
        if theme is None:  # a theme typed by hand that the engagement does not have
            picked = list(tracker.get_slot("picked_themes") or [])
            dispatcher.utter_message(response="utter_press_a_theme")
            offer_themes(dispatcher, picked, more=bool(picked))
            return []
        return pick(dispatcher, tracker, [theme])


def pick(dispatcher, tracker, themes, keep=()) -> List:
    """Add themes to the participant's picks and offer the rest. At the theme check (a theme
    typed instead of "No"), picking starts with them, after any in keep (the themes shown,
    when the participant said yes to them as well)."""
    before = list(keep) if tracker.get_slot("stage") == "theme_check" \
        else list(tracker.get_slot("picked_themes") or [])
    picked = list(dict.fromkeys(before + [theme.id for theme in themes]))
    if keep:
        dispatcher.utter_message(response="utter_themes_picked",
                                 themes=services().tagging.labels(picked))
    elif len(themes) == 1:
        dispatcher.utter_message(response="utter_theme_picked_already" if themes[0].id in before
                                 else "utter_theme_added", theme=themes[0].label)
    else:
        dispatcher.utter_message(response="utter_themes_picked",
                                 themes=services().tagging.labels(picked))
    offer_themes(dispatcher, picked, more=True)
    return [SlotSet("stage", "theme_pick"), SlotSet("picked_themes", picked)]


def take_off(dispatcher, tracker, themes) -> List:
    """Take back themes the participant picked, and offer the themes again. One line for each
    theme taken back; "not picked" only for themes named one by one ("remove everything" takes
    all back, as "pick again" does, without a line for every theme)."""
    picked = list(tracker.get_slot("picked_themes") or [])
    if len(themes) == len(services().engagement.themes):
        return pick_again(dispatcher, tracker)
    taken = [theme for theme in themes if theme.id in picked]
    for theme in taken or themes:
        dispatcher.utter_message(response="utter_theme_taken_off" if taken
                                 else "utter_theme_not_picked", theme=theme.label)
    left = [theme_id for theme_id in picked if theme_id not in {theme.id for theme in themes}]
    offer_themes(dispatcher, left, more=bool(left))
    return [SlotSet("stage", "theme_pick"), SlotSet("picked_themes", left)]


def pick_again(dispatcher, tracker) -> List:
    """Forget the picks so far and offer every theme again (at the check: start picking)."""
    if tracker.get_slot("stage") == "theme_pick" and tracker.get_slot("picked_themes"):
        dispatcher.utter_message(response="utter_picks_cleared")
    offer_themes(dispatcher)
    return [SlotSet("stage", "theme_pick"), SlotSet("picked_themes", [])]


class ActionPickAgain(ThemeStepAction):
    """"Pick again": the picks so far are forgotten and every theme is offered again."""

    def name(self) -> Text:
        return "action_pick_again"

    def act(self, dispatcher, tracker):
        return pick_again(dispatcher, tracker)


class ActionFinishPicking(ThemeStepAction):
    """Keep the themes the participant picked (or none) as their own; "not sure" with nothing
    picked keeps the tagger's themes as they were."""

    def name(self) -> Text:
        return "action_finish_picking"

    def act(self, dispatcher, tracker):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        # "None of these" is only offered before a pick; typed after one, it means no others.
        picked = list(tracker.get_slot("picked_themes") or [])
        if intent in ("deny", "themes_done") and not picked:
            # A typed "no" (or "That is all") before any pick could mean "none of these" or
            # "I do not want to": not ours to guess for them, so the buttons come again.
            dispatcher.utter_message(response="utter_none_picked_yet" if intent == "themes_done"
                                     else "utter_press_a_theme")
            offer_themes(dispatcher)
            return [FollowupAction("action_listen")]
        if intent == "dont_know" and not picked:
            # Not sure, and nothing picked: the tagger's themes (if any) stay, marked automatic.
            return _after_check(dispatcher)
        if _answer_id(tracker) is not None:
            services().tagging.choose(_answer_id(tracker), picked)
        return _after_check(dispatcher)
