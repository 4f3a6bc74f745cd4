"""Actions for checking an answer's themes with the participant: listen, write, check, adjust."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet

from actions.common import services


def _answer_id(tracker):
    value = tracker.get_slot("checking_answer")
    return int(value) if value is not None else None


def _after_check(dispatcher) -> List:
    dispatcher.utter_message(response="utter_thanks_for_checking")
    dispatcher.utter_message(response="utter_ask_add_more")
    return [SlotSet("stage", "add_more"), SlotSet("checking_answer", None),
            SlotSet("picked_themes", [])]


class ActionConfirmThemes(Action):
    """The participant agrees: the suggested themes become theirs."""

    def name(self) -> Text:
        return "action_confirm_themes"

    async def run(self, dispatcher, tracker, domain):
        if _answer_id(tracker) is not None:
            services().tagging.confirm(_answer_id(tracker))
        return _after_check(dispatcher)


class ActionKeepThemes(Action):
    """The participant is not sure: the tagger's themes stay, marked as automatic."""

    def name(self) -> Text:
        return "action_keep_themes"

    async def run(self, dispatcher, tracker, domain):
        return _after_check(dispatcher)


class ActionOfferThemes(Action):
    """Show every theme as a button, so the participant can pick the right ones."""

    def name(self) -> Text:
        return "action_offer_themes"

    async def run(self, dispatcher, tracker, domain):
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
    dispatcher.utter_message(response="utter_pick_themes_done")


class ActionPickTheme(Action):
    """Add one theme the participant pressed."""

    def name(self) -> Text:
        return "action_pick_theme"

    async def run(self, dispatcher, tracker, domain):
        app = services()
        theme_id = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                         if e.get("entity") == "theme"), None)
        theme = app.engagement.theme_by_id(theme_id) if theme_id else None
        picked = list(tracker.get_slot("picked_themes") or [])
        if theme is None:  # a theme typed by hand that the engagement does not have
            dispatcher.utter_message(response="utter_press_a_theme")
            offer_themes(dispatcher, picked, more=bool(picked))
            return []
        picked = list(dict.fromkeys(picked + [theme.id]))
        dispatcher.utter_message(response="utter_theme_added", theme=theme.label)
        offer_themes(dispatcher, picked, more=True)
        return [SlotSet("picked_themes", picked)]


class ActionFinishPicking(Action):
    """Keep the themes the participant picked (or none) as their own."""

    def name(self) -> Text:
        return "action_finish_picking"

    async def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        picked = [] if intent == "no_theme" else list(tracker.get_slot("picked_themes") or [])
        if intent == "deny" and not picked:
            # A typed "no" before any pick could mean "none of these" or "I do not want to":
            # that is not theirs to have guessed for them, so the buttons come again.
            dispatcher.utter_message(response="utter_press_a_theme")
            offer_themes(dispatcher)
            return [FollowupAction("action_listen")]
        if _answer_id(tracker) is not None:
            services().tagging.choose(_answer_id(tracker), picked)
        return _after_check(dispatcher)
