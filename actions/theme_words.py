"""How words typed at the theme check or pick are read: theme names, yes, no, none, not sure."""
from __future__ import annotations

import re
from typing import List, Optional


# Words typed at the theme check that say what the answer is about: a "no" in other words.
_CORRECTION = re.compile(r"^\s*(it'?s|it is|this is|that'?s|that is|its)?\s*(all\s+)?about\b", re.I)


def is_correction(text: str) -> bool:
    """True for "It is about my home" and the like, typed at the theme check."""
    return bool(_CORRECTION.match(text or ""))


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


def themes_named(text: str, themes) -> List:
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
# "no its about money", "wrong, it is about my job", "no, money": a no, then what it is about.
_NO_BUT = re.compile(r"^\s*(?:no+|nope|nah|wrong|not right|not really|that'?s wrong|that is wrong|"
                     r"that'?s not right|that is not right|it'?s not|it is not|not that)\b[\s,.!:;-]*"
                     r"(?:it'?s\s+not\s+that\b[\s,.!;-]*)?(?P<rest>.+?)\s*[.!]*\s*$", re.I)
_ABOUT_FIRST = re.compile(r"^\s*(?:(?:but\s+)?(?:it'?s|it is|its|this is|that'?s|that is|it)\s+)?"
                          r"(?:(?:really|more|all|actually)\s+)?(?:about\s+)?", re.I)
# "take away money", "remove being safe", "take money off": one picked theme taken back.
_TAKE_OFF = re.compile(r"^\s*(?:please\s+)?(?:can\s+you\s+)?(?:(?:take|get)\s+(?:away|off|out|back)|remove|"
                       r"unpick|un-pick|untick|un-tick|delete|drop|not|get\s+rid\s+of|cancel|lose|"
                       r"i\s+(?:do\s+not|don'?t)\s+want)\s+(?P<first>.+?)(?:\s*,?\s*please)?\s*[.!]*\s*$"
                       r"|^\s*(?:please\s+)?(?:take|get)\s+(?P<second>.+?)\s+(?:away|off|out)"
                       r"(?:\s*,?\s*please)?\s*[.!]*\s*$",
                       re.I)
# "Good" and the like at the check: the themes shown are right (NLU may read "good" as a
# greeting, "spot on" or "sounds good" as sound on).
_ABOUT_LAST = re.compile(r"(?:\s+(?:really|though|mate|please|i think|to be honest|tbh|mostly))+\s*[.!]*$",
                         re.I)
# "That is all" is the button's own title: while picking, the picks are done; at the check,
# the themes shown are right.
_DONE = {"that is all", "that's all", "thats all", "that is all thanks", "that's all thanks",
         "thats all thanks", "that is all thank you", "that's all thank you", "that's it",
         "thats it", "that is it", "that's it thanks", "thats it thanks", "all done", "done",
         "finished", "i'm done", "im done", "i am done", "i have finished", "no more",
         "nothing else", "no others", "no more thanks", "that will do", "that'll do"}
_RIGHT = {"good", "great", "perfect", "spot on", "sounds good", "sounds right", "lovely",
          "brilliant", "cool", "nice", "excellent", "exactly", "yes that's it", "yes thats it",
          "all good", "good thanks", "good thank you", "yes thanks", "yes thank you", "correct", "that's correct",
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


def only_small_words(text: str) -> bool:
    words = plain_words(text).split()
    return bool(words) and all(word in _SMALL_WORDS for word in words)


def typed_reply(text: str) -> str:
    """What words typed at the theme check or pick mean, whatever NLU read them as: "none"
    (none of the themes), "not sure", "no", "pick again", "done" ("that is all", "finished"),
    "right" ("good", "spot on": a yes at the check), "unclear" (thanks: not a yes or no, so
    the buttons come again), or "" for anything else."""
    phrase = plain_words(text)
    for meaning, phrases in (("none", _NONE_OF_THEM), ("not sure", _NOT_SURE), ("no", _WRONG),
                             ("pick again", _PICK_AGAIN), ("done", _DONE), ("right", _RIGHT),
                             ("unclear", _THANKS)):
        if phrase in phrases:
            return meaning
    if only_small_words(phrase):  # "no it is not right", "yes it is", "it is not"
        words = phrase.split()
        if any(word in _NO_WORDS for word in words):
            return "no"
        return "right" if words[0] in _YES_WORDS else "unclear"
    return ""


def means_all_shown(text: str) -> bool:
    """True for "all of them", "both" and the like: at the check, the themes shown are right."""
    return bool(_ALL_THEMES.match(text)) or plain_words(text) in _ALL_SHOWN


def taken_off(text: str) -> Optional[str]:
    """The words after "take away", "remove" and the like ("take money off": "money"), else None."""
    match = _TAKE_OFF.match(text)
    return (match.group("first") or match.group("second")) if match else None


def no_but(text: str) -> Optional[str]:
    """What a no says the answer is about instead ("no its about money": "money"), else None."""
    match = _NO_BUT.match(text or "")
    if not match:
        return None
    rest = _ABOUT_FIRST.sub("", match.group("rest"), count=1).strip()
    rest = _ABOUT_LAST.sub("", rest).strip()
    return rest or None


def yes_and(text: str) -> Optional[str]:
    """The words after "yes and" ("yes and being accepted too": "being accepted"), else None."""
    match = _YES_AND.match(text)
    return match.group("rest") if match else None
