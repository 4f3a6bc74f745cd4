"""Actions for checking an answer's themes with the participant: listen, write, check, adjust."""
from __future__ import annotations

import abc
import re
from typing import List, Optional, Text

from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet

from actions.common import services, stray_payload


def _answer_id(tracker):
    value = tracker.get_slot("checking_answer")
    return int(value) if value is not None else None


CHECK_STAGES = ("theme_check", "theme_pick")
# Words typed at the theme check that say what the answer is about: a "no" in other words.
_CORRECTION = re.compile(r"^\s*(it'?s|it is|this is|that'?s|that is|its)?\s*(all\s+)?about\b", re.I)
MORE_ANSWER_WORDS = 3


def is_correction(text: str) -> bool:
    """True for "It is about my home" and the like, typed at the theme check."""
    return bool(_CORRECTION.match(text or ""))


def typed_at_check(tracker) -> bool:
    """True when, at the theme check or pick, the participant typed words of an answer (three
    or more, not "it is about ...") instead of pressing a button: they are kept as more answer."""
    if tracker.get_slot("stage") not in CHECK_STAGES:
        return False
    text = (tracker.latest_message or {}).get("text") or ""
    return len(text.split()) >= MORE_ANSWER_WORDS and not text.strip().startswith("/") \
        and not is_correction(text) and not _only_small_words(text)


# Words that name no theme: left out when a typed message is matched to a theme's name.
_FILLER = {"a", "an", "the", "and", "or", "of", "to", "my", "i", "it", "is", "its", "it's",
           "about", "this", "that", "one", "too", "also", "please", "for", "me", "at", "when",
           "you", "your", "people", "around", "by", "feel", "feeling", "feels", "some", "more"}
_NAME_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)


_SAME_WORD = {"safety": "safe", "safely": "safe"}


def _stems(text: str) -> List[str]:
    words = [_SAME_WORD.get(word, word) for word in _NAME_WORDS.findall(text.lower())]
    return [word[:-1] if len(word) > 3 and word.endswith("s") else word
            for word in words if word not in _FILLER]


_ALL_THEMES = re.compile(r"^\s*(?:all|all of (?:them|these|those|it)|every one|everything|"
                         r"all the themes|all themes|all of the themes)\s*[.!]*\s*$", re.I)


# Between theme names in a list: "money and being safe", "Having things to do, Being safe".
_LIST_SEPARATORS = re.compile(r"\s*(?:[,;&+/]|\band\b|\bplus\b|\balso\b)\s*", re.I)


def typed_themes(tracker) -> List:
    """The themes a participant typed at the theme check or while picking: the one whose name
    they typed ("money", "Being safe"), several names in a list ("money and being safe"), or
    all of them ("all of them" while picking; at the check it means the themes shown are
    right); [] when any part of the words names no theme or more than one."""
    if tracker.get_slot("stage") not in CHECK_STAGES:
        return []
    text = (tracker.latest_message or {}).get("text") or ""
    return _themes_named(text, services().engagement.themes)


def _themes_named(text: str, themes) -> List:
    """The themes these words name (see typed_themes), or []."""
    if _ALL_THEMES.match(text):
        return list(themes)
    whole = _named_theme(text, themes)
    if whole is not None:
        return [whole]
    parts = [part for part in _LIST_SEPARATORS.split(text) if _stems(part)]
    named = [_named_theme(part, themes) for part in parts]
    if len(parts) < 2 or None in named:
        return []
    return list({theme.id: theme for theme in named}.values())


# Words of the themes' names that alone name no theme ("good" at the check means yes; "help"
# asks for help; "do", "time" ...).
_TOO_PLAIN = {"good", "right", "help", "time", "do", "have", "having", "being", "who", "thing",
              "getting", "available", "required", "support", "value", "when"}


def _named_theme(text: str, themes):
    """The one theme whose name these few words are part of, else None."""
    words = _stems(text)
    if not words or len(words) > 4 or (len(words) == 1 and words[0] in _TOO_PLAIN):
        return None
    named = [theme for theme in themes
             if set(words) <= set(_stems(f"{theme.easy_name} {theme.name}"))]
    return named[0] if len(named) == 1 else None


def plain_words(text: str) -> str:
    """Typed words, lower case, without punctuation or extra spaces, to compare with fixed replies."""
    text = (text or "").lower().replace("\u2019", "'")
    return " ".join(re.findall(r"[a-z']+", text))


# Typed replies at the theme check or pick whose meaning NLU may miss, compared whole.
_NONE_OF_THEM = {"none", "none of them", "none of these", "none of those", "none of the above",
                 "none of them fit", "none fit", "neither", "neither of them", "neither of those",
                 "not any of them", "not any of these", "no theme", "no themes", "nothing",
                 "none of it", "none of the themes", "it is none of them", "it's none of them"}
_NOT_SURE = {"maybe", "perhaps", "possibly", "not sure", "i'm not sure", "im not sure",
             "i am not sure", "unsure", "kind of", "kinda", "sort of", "sorta", "a bit", "partly",
             "a little", "i don't know", "i dont know", "dont know", "don't know", "idk",
             "dunno", "no idea", "i don't want to say", "i dont want to say", "i'd rather not say",
             "rather not say", "pass", "i'm not sure really", "not really sure", "not too sure"}
_WRONG = {"wrong", "that's wrong", "thats wrong", "it's wrong", "its wrong", "that is wrong",
          "not right", "that's not right", "thats not right", "that is not right", "incorrect",
          "no that's wrong", "no thats wrong", "no wrong", "not really"}
_ALL_SHOWN = {"both", "both of them", "both of those", "both of these", "yes both", "yes all of them"}
_PICK_AGAIN = {"pick again", "clear", "clear them", "clear it", "clear my picks", "clear all",
               "undo", "undo that", "change my picks", "change them", "i picked the wrong one",
               "i pressed the wrong one", "wrong one", "oops wrong one", "oops", "i made a mistake",
               "mistake", "take them all away", "take them all off", "take them off",
               "remove them all", "remove them", "start picking again", "i want to pick again",
               "let me pick again", "can i pick again"}
# "yes and being accepted too", "yeah, money as well": the themes shown are right, and more.
_YES_AND = re.compile(r"^\s*(?:yes|yeah|yep|yup|aye)\b[\s,.!]*(?:and\s+|but\s+also\s+|plus\s+|also\s+)"
                      r"(?:also\s+)?(?P<rest>.+?)(?:\s+(?:too|as well|also))?\s*[.!]*\s*$", re.I)
# "take away money", "remove being safe", "take money off": one picked theme taken back.
_TAKE_OFF = re.compile(r"^\s*(?:please\s+)?(?:(?:take|get)\s+(?:away|off|out)|remove|unpick|un-pick|"
                       r"untick|un-tick|delete|drop|not)\s+(?P<first>.+?)\s*[.!]*\s*$"
                       r"|^\s*(?:please\s+)?(?:take|get)\s+(?P<second>.+?)\s+(?:away|off|out)"
                       r"(?:\s*,?\s*please)?\s*[.!]*\s*$",
                       re.I)
# "Good" and the like at the check: the themes shown are right (NLU may read "good" as a
# greeting, "spot on" or "sounds good" as sound on).
_RIGHT = {"good", "great", "perfect", "spot on", "sounds good", "sounds right", "lovely",
          "brilliant", "cool", "nice", "excellent", "exactly", "that's it", "thats it",
          "that is it", "yes that's it", "yes thats it", "all good", "good thanks",
          "good thank you", "yes thanks", "yes thank you", "correct", "that's correct",
          "thats correct", "that's right", "thats right", "that is right", "yes that's right",
          "yes thats right", "yes right", "yes correct", "bang on", "you got it", "yes good",
          "great thanks", "perfect thanks", "lovely thanks", "good one", "yes it is",
          "it is", "it is right", "it's right", "its right", "agreed", "i agree", "true"}
_THANKS = {"thanks", "thank you", "thankyou", "thanks a lot", "thank you very much", "ta",
           "cheers", "thanks very much", "many thanks"}


# A reply made only of these words is about the check ("no it is not right", "yes it is"),
# never more answer.
_YES_WORDS = {"yes", "yeah", "yep", "yup", "aye", "ye", "yea", "ok", "okay", "sure"}
_NO_WORDS = {"no", "nope", "nah", "not", "wrong", "isnt", "isn't", "dont", "don't", "nothing"}
_SMALL_WORDS = _YES_WORDS | _NO_WORDS | {
    "it", "is", "its", "it's", "right", "that", "thats", "that's", "this", "correct", "quite",
    "really", "the", "one", "ones", "them", "they", "are", "theyre", "they're", "at", "all",
    "about", "true", "so", "i", "think", "do", "sorry", "those", "these", "theme", "themes",
    "please", "thanks", "thank", "you", "ta", "what", "said", "say", "was", "very", "much",
    "good", "fine", "totally", "exactly", "completely", "a", "bit", "of", "course", "absolutely",
    "definitely", "well", "oh", "um", "erm", "hmm", "mate", "then"}


def _only_small_words(text: str) -> bool:
    words = plain_words(text).split()
    return bool(words) and all(word in _SMALL_WORDS for word in words)


def typed_reply(text: str) -> str:
    """What words typed at the theme check or pick mean, whatever NLU read them as: "none"
    (none of the themes), "not sure", "no", "pick again", "right" ("good", "spot on": a yes
    at the check), "unclear" (thanks: not a yes or no, so the buttons come again), or "" for
    anything else."""
    phrase = plain_words(text)
    for meaning, phrases in (("none", _NONE_OF_THEM), ("not sure", _NOT_SURE), ("no", _WRONG),
                             ("pick again", _PICK_AGAIN), ("right", _RIGHT), ("unclear", _THANKS)):
        if phrase in phrases:
            return meaning
    if _only_small_words(phrase):  # "no it is not right", "yes it is", "it is not"
        words = phrase.split()
        if any(word in _NO_WORDS for word in words):
            return "no"
        return "right" if words[0] in _YES_WORDS else "unclear"
    return ""


def theme_step_reply(dispatcher, tracker) -> Optional[List]:
    """Answer words typed at the theme check or pick that name themes, or that mean none of
    them, not sure, no or something unclear, whichever action NLU sent them to; the turn ends
    there. None when the words are none of these, or a button."""
    text = (tracker.latest_message or {}).get("text") or ""
    stage = tracker.get_slot("stage")
    if stage not in CHECK_STAGES or text.strip().startswith("/"):
        return None
    if stage == "theme_check" and (_ALL_THEMES.match(text) or plain_words(text) in _ALL_SHOWN):
        # "All of them" about the themes shown: they are all right.
        return _confirm(dispatcher, tracker) + [FollowupAction("action_listen")]
    taken_off = _TAKE_OFF.match(text) if stage == "theme_pick" else None
    if taken_off:
        named = _themes_named(taken_off.group("first") or taken_off.group("second"),
                              services().engagement.themes)
        if named:
            return take_off(dispatcher, tracker, named) + [FollowupAction("action_listen")]
    themes = typed_themes(tracker)
    if themes:
        return pick(dispatcher, tracker, themes) + [FollowupAction("action_listen")]
    also = _YES_AND.match(text) if stage == "theme_check" else None
    named = _themes_named(also.group("rest"), services().engagement.themes) if also else []
    if named:  # "yes and being accepted too": the themes shown and these
        return pick(dispatcher, tracker, named, keep=tracker.get_slot("checking_themes") or []) \
            + [FollowupAction("action_listen")]
    meaning = typed_reply(text)
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
    if meaning == "not sure" and not picked:
        return _after_check(dispatcher) + [FollowupAction("action_listen")]
    # None of them (none picked), or what was picked is all: the participant's own choice.
    if _answer_id(tracker) is not None:
        services().tagging.choose(_answer_id(tracker), picked)
    return _after_check(dispatcher) + [FollowupAction("action_listen")]


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
    """Take back themes the participant picked, and offer the themes again."""
    picked = list(tracker.get_slot("picked_themes") or [])
    for theme in themes:
        dispatcher.utter_message(response="utter_theme_taken_off" if theme.id in picked
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
