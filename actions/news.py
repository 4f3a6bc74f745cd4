"""You said, we did: what the participant told us about, and what is being done about it; and
the words that ask for it, whatever NLU made of them."""
from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import services
from actions.theme_words import plain_words
from bot.safeguarding import detect
from bot.staff.actions import as_sentence

# Common misspellings of the words people use to ask, read as the words themselves.
_SPELLINGS = {"happend": "happened", "hapened": "happened", "happned": "happened",
              "happenend": "happened", "anwsers": "answers", "answres": "answers",
              "anwers": "answers", "awnsers": "answers", "answears": "answers", "ansers": "answers",
              "wat": "what", "wot": "what", "whats": "what has", "what's": "what has",
              "u": "you", "ya": "you", "ur": "your", "abt": "about", "nuthin": "nothing"}
_OPENING = r"(?:(?:hi|hello|so|and|ok|okay|please|sorry|um|erm|excuse me|can i ask|" \
           r"can you tell me|tell me|i want to know|i would like to know|i'd like to know|" \
           r"i wonder) )*"
_CLOSING = r"(?: (?:please|yet|so far|now|then|thanks|thank you|today|at all|since|" \
           r"(?:when|if|about|from|with) .+))*"
_MINE = r"(?:my|our|his|her|their|the|all the|all my|all our)"
_ASKS = re.compile(_OPENING + "(?:" + "|".join([
    # "what happened to my answers?", "what has happened with what I said?"
    rf"what (?:has |have |had )?(?:happened|happens|is happening|will happen) (?:to|with) "
    rf"(?:{_MINE} (?:answers?|words|ideas|views|replies|feedback|survey|stuff)|"
    r"what (?:i|we|he|she|they) (?:said|told you|told us|wrote|typed|put))",
    # "what have you done about it?", "what did the council do with my answers?"
    r"what (?:have|has|did|do|will|are) (?:you|they|the council|the nhs|staff|the staff|"
    r"anyone|anybody|people) (?:done|do|doing|did|going to do) (?:about|with) (?:it|that|this|them|"
    rf"{_MINE} (?:answers?|words|ideas|views)|what (?:i|we|he|she|they) (?:said|told you|wrote))",
    # "did you do anything with what I said?"
    r"(?:did|has|have) (?:you|they|anyone|anybody|the council|staff) (?:done|do|change|changed) "
    r"anything",
    # "any news?", "is there any news", "news?", "send me news when something changes"
    r"(?:is there |are there |have you got |got |do you have |have you )?any (?:news|updates?)",
    r"(?:news|updates?|the news|my news)",
    r"(?:send|tell|give) (?:me|us) (?:the |any |some )?(?:news|updates?)",
]) + ")" + _CLOSING)
MAX_WORDS = 16  # longer messages are answers, even when they mention news


def asks_for_news(text: str) -> bool:
    """True for a message that asks what happened to the participant's answers ("what happend
    to my anwsers", "what have you done about it", "any news?"), said in few words, and that
    tells of no harm."""
    words = [_SPELLINGS.get(word, word) for word in plain_words(text).split()]
    if not words or len(words) > MAX_WORDS:
        return False
    if not _ASKS.fullmatch(" ".join(" ".join(words).split())):
        return False
    # "any news about the man who hurt me": an answer, kept and screened like any other.
    return not detect(text).disclosure


def tell_what_happened(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Say what they told us about, and what is being done about those themes."""
    app = services()
    checking = tracker.get_slot("checking_answer")
    summary = app.conversation.you_said_we_did(
        tracker.sender_id,
        # Asked during the theme check: the tagger's guess is not theirs until they agree.
        checking_answer=int(checking) if checking is not None
        and tracker.get_slot("stage") in ("theme_check", "theme_pick") else None)
    values = app.engagement.template_values()
    if summary is None:
        dispatcher.utter_message(response="utter_what_happened_none")
        return
    if summary.answer_count == 0:  # taking part (or done), every question skipped
        dispatcher.utter_message(response="utter_my_data_no_answers")
        return
    if summary.answer_count == 1:
        dispatcher.utter_message(response="utter_what_happened_one", **values)
    else:
        dispatcher.utter_message(response="utter_what_happened",
                                 count=str(summary.answer_count), **values)
    if summary.themes:
        dispatcher.utter_message(response="utter_what_happened_themes_one"
                                 if summary.answer_count == 1 else "utter_what_happened_themes",
                                 themes=app.tagging.labels(summary.themes))
    if not summary.actions:
        dispatcher.utter_message(response="utter_what_happened_no_news", **values)
    for action in summary.actions:
        theme = app.engagement.theme_by_id(action.theme_id)
        dispatcher.utter_message(response=f"utter_update_item_{action.status}",
                                 emoji=theme.emoji if theme else "",
                                 theme=(theme.easy_name or theme.name) if theme
                                 else action.theme_id,
                                 action=as_sentence(action.text))
