"""Detector tests: the recall and false-alarm targets, negation, voices, danger and robustness."""
import dataclasses
import math
import subprocess
import sys
import time

import pytest

from bot.safeguarding import Detection, Detector, detect
from bot.safeguarding.phrasebook import load_phrasebook

from safeguarding_support import rates, read_cases

RECALL_TARGET = 0.95
FALSE_ALARM_LIMIT = 0.10


@pytest.mark.parametrize("name", ["safeguarding_cases", "safeguarding_holdout"])
def test_recall_and_false_alarm_targets(detector, name):
    cases = read_cases(name)
    recall, false_alarms, missed, alarms = rates(detector, cases)
    assert recall >= RECALL_TARGET, f"recall {recall:.3f}; missed: {missed}"
    assert false_alarms < FALSE_ALARM_LIMIT, f"false alarms {false_alarms:.3f}: {alarms}"


def test_test_set_is_large_balanced_and_covers_every_voice():
    cases = read_cases("safeguarding_cases")
    assert len(cases) >= 300
    disclosures = [case for case in cases if case["disclosure"]]
    assert 0.4 <= len(disclosures) / len(cases) <= 0.6
    assert {case["who"] for case in disclosures} == {"self", "autistic", "carer", "worker"}
    assert {case["category"] for case in disclosures} >= {
        "physical", "sexual", "emotional", "financial", "neglect", "exploitation",
        "domestic", "bullying_hate", "self_harm", "suicidal", "immediate_danger", "unsafe",
    }


def test_phrase_list_alone_reaches_recall_on_test_set():
    phrases_only = Detector(dataclasses.replace(load_phrasebook(), model=None))
    recall, false_alarms, missed, _ = rates(phrases_only, read_cases("safeguarding_cases"))
    assert recall >= RECALL_TARGET, missed
    assert false_alarms < FALSE_ALARM_LIMIT


@pytest.mark.parametrize(
    "text",
    [
        "I feel safe at home",
        "nobody hurts me",
        "no one hurts me",
        "I am not being hurt",
        "I am not scared any more",
        "my carer does not hit me, she is kind",
        "I've never been hurt by staff",
        "nobody in my house shouts at me",
        "I do not feel unsafe",
        "i aint scared of nobody",
        "no one takes my money, I keep it in the bank",
        "I don't want to take part any more",
    ],
)
def test_negated_harm_is_not_a_disclosure(detector, text):
    assert not detector.detect(text).disclosure


@pytest.mark.parametrize(
    "text",
    [
        "I don't feel safe",
        "i dont feel safe at home",
        "I never feel safe there",
        "nobody helps me and he hits me",
        "I am not ok, he hurts me",
        "I can't tell anyone he hits me",
        "nobody feeds me",
        "I don't want to be here any more",
        "i dont want to live anymore",
        "he won't let me see my friends",
        "everyone would be better off without me",
        # next to the harmless readings below, the harmful ones still count
        "my brother spends my money on drink",
        "he keeps asking for more money and I have none left for food",
        "I have cuts on my arms again",
        "staff kicked me",
        "she slapped me",
        "i could kill myself lol",
        "my dad hits me lol",
        "he hits me with the ball on purpose",
        "i take my own money to the shops but my brother takes it off me",
        "my job is ok but my boss hits me",
        "i get panic attacks since he attacked me",
        "someone followed me home from the bus stop",
        "we did a course about abuse and now i know my carer abuses me",
        "sometimes i think about just ending it all",
        "staff come in my room at night and get in my bed",
        "He made me watch a film where people have sex and then he touched me",
        "I saw on the news a man was scammed and then my nephew took my bank card",
        "my carer scratches me",
        "there was blood everywhere after he hit me",
        "she borrowed £50 and never paid me back",
        "my benefits do not go far and he takes half of my money",
        "he is going to kill me",
        "staff hurt my ears when they pull them",
        "she is missing, she left with no coat",
        "he said he will kill me if i tell anyone",
        "i do not want to carry on",
        "staff push me hard against the wall",
        "the lads battered him 3 times last week",
        "my mum would kill me if she saw the bruises he gave me",
        # Harm told next to a harmless use that a mask blanks.
        "we learned about abuse at college and then my carer hit me again",
        "they keep my tablets locked in a cupboard and they lock me in my room at night",
        "i got punched sparring but my coach punches me when i lose too",
        "he punched me in the face after sparring",
        "I would be happier if I did not have to be scared at home all the time",
        "I need some time for myself and then I cut myself",
        "he took my phone off me and never gave it back",
        "she will kill me if i do not do what she says",
        "my dad is going to kill me for telling",
        "the film made me cry because the men at the pub pour drinks on my head too",
        "we did our safeguarding refresher today and then my manager hit a resident",
        "i gave my friend 20 pound for his birthday and now he takes my card every week",
        "he will not leave the house because the lads next door threaten him",
        "i cut agen last nite",
        "they will answer for themselves but staff are using his money for themselves",
    ],
)
def test_negation_words_and_harmless_lookalikes_do_not_hide_risk(detector, text):
    assert detector.detect(text).disclosure


@pytest.mark.parametrize(
    "text",
    [
        "I would die for a good cup of tea",
        "I sometimes forget my tablets so I use a pill box",
        "Some time to myself and a good night's sleep",
        "Me gusta ir al parque con mi perro",
        "my nan wrote letters to everyone at Christmas",
        "we said goodbye at the bus stop",
        "staff keep my tablets locked in a cupboard and give them to me at 8",
        "we learned about the signs of abuse on my care course",
        "the bus kills me it's so slow",
        "I hate waiting at the doctors",
        "being safe means having staff who know me",
        "I want to be safe when I go out",
        "my support worker helps me feel safe",
        "my feet are killing me after the walk",
        "what happens to what I say?",
        "on the news there was a story about abuse in a care home and it made me angry",
        "I worry about what will happen to my son when I die",
        "I dont want to be here anymore at this college, I want the cooking course",
        "What gets in the way? Cuts, mostly. The day centre closed.",
        "He spends most of his money on Lego and video games",
        "money is tight. i want more money to go to concerts",
        "my brother winds me up cos he supports city and i support united haha",
        "staff picked me up and we shared a pizza",
        "my cat sleeps on my bed",
        "A resident slipped in the bathroom, we called 111 and she is fine",
        "they will answer for themselves",
        "She wants to speak for herself",
    ],
)
def test_harmless_uses_of_risky_words(detector, text):
    assert not detector.detect(text).disclosure



@pytest.mark.parametrize(
    "text, category",
    [
        ("she comes back from the day centre with bruises", "physical"),
        ("staff shout at him", "emotional"),
        ("the person I support told me her boyfriend hits her", "physical"),
        ("money keeps going missing from his account", "financial"),
        ("he's left sitting in a soiled pad when I visit", "neglect"),
        ("she keeps saying she wants to die", "suicidal"),
        ("I think he is being cuckooed", "exploitation"),
    ],
)
def test_carer_or_worker_speaking_of_the_person_they_support(detector, text, category):
    found = detector.detect(text)
    assert found.disclosure
    assert category in found.categories


@pytest.mark.parametrize("text", ["he takes my money", "my dad hit me last year", "I cut myself"])
def test_disclosure_without_immediate_danger(detector, text):
    found = detector.detect(text)
    assert found.disclosure and not found.immediate_danger


@pytest.mark.parametrize("text", ["sum1 hits me", "i wanna die", "im bein hurt", "he hurtz me", "i am so scaired of him"])
def test_txt_speak_and_misspellings(detector, text):
    assert detector.detect(text).disclosure


def test_detection_fields(detector):
    found = detector.detect("my husband hits me")
    assert isinstance(found, Detection)
    assert found.disclosure is True
    assert 0.0 <= found.score <= 1.0
    assert {"physical", "domestic"} <= set(found.categories)
    assert found.matched == ["hits me"]
    assert found.immediate_danger is False


def test_high_intent_confidence_strengthens_a_weak_sign_and_never_flags_alone(detector):
    weak = "he shouts a lot"
    assert not detector.detect(weak).disclosure
    assert detector.detect(weak, intent_confidence=0.9).disclosure
    assert not detector.detect(weak, intent_confidence=0.2).disclosure
    # NLU read everyday answers as harm (0.97): on its own it never raises the flag.
    for text in ("things are difficult at the moment", "I have a boyfriend. He makes me happy."):
        assert not detector.detect(text, intent_confidence=0.99).disclosure
    # a low confidence never lowers a phrase match
    assert detector.detect("he hits me", intent_confidence=0.0).disclosure


@pytest.mark.parametrize("confidence", [None, math.nan, "high", -1, 7])
def test_odd_intent_confidence_does_not_crash(detector, confidence):
    assert 0.0 <= detector.detect("hello", intent_confidence=confidence).score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😊😊👍",
        "💀💀💀",
        "Je voudrais plus d'aide",
        "\x00\x01\x02",
        "ß" * 50,
        "." * 5000,
        "İstanbul",
    ],
)
def test_odd_input_never_crashes(detector, text):
    found = detector.detect(text)
    assert not found.disclosure
    assert found.score <= 0.5


@pytest.mark.parametrize("text", ["我想回家", "مجھے اپنا خاندان پسند ہے", "Мне нужна помощь",
                                  "আমি আমার পরিবারকে ভালোবাসি", "I love Москва и Киев"])
def test_words_in_letters_the_phrases_cannot_read_go_to_a_person(detector, text):
    """A disclosure in Urdu or Chinese would be missed: such a message is flagged for a person."""
    found = detector.detect(text)
    assert found.disclosure and found.categories == ["other_script"]
    assert not found.immediate_danger and found.matched == []


@pytest.mark.parametrize("text", ["Lubię moją rodzinę", "Café with Zoë", "I like my family 😊",
                                  "我", "OK 👍", "My friend Jürgen and me"])
def test_latin_letters_and_a_stray_character_are_read_as_usual(detector, text):
    assert "other_script" not in detector.detect(text).categories


def test_huge_input_is_checked_quickly_and_still_finds_harm(detector):
    filler = "I like the day centre and the bus is slow. " * 240
    assert len(filler) > 10_000
    start = time.process_time()
    assert not detector.detect(filler).disclosure
    assert detector.detect(filler + "He hits me.").disclosure
    assert not detector.detect("a" * 10_000).disclosure
    assert detector.detect("hit " * 2500).disclosure
    assert time.process_time() - start < 3.0  # no runaway pattern (a guard, not a speed claim)


def test_thousand_messages_without_a_runaway_pattern(detector):
    """A guard against a pattern that backtracks without end, not a speed claim: the figure
    (about 0.7 s of CPU for 1,000 on an idle machine) is printed by bench/safeguarding.py. CPU
    time, not wall time, and a wide margin: on a shared two-core machine CPU time grows by more
    than half when the core's twin is busy."""
    messages = [case["text"] for case in read_cases("safeguarding_cases")]
    messages = (messages * 2)[:1000]
    detector.detect("warm up")
    start = time.process_time()
    for message in messages:
        detector.detect(message)
    assert time.process_time() - start < 5.0


def test_module_level_detect_uses_the_default_phrase_list():
    assert detect("sum1 hits me").disclosure


def test_importing_does_no_work():
    code = (
        "import sys, bot.safeguarding, bot.safeguarding.cli;"
        "from bot.safeguarding import detector, phrasebook;"
        "assert detector.get_detector.cache_info().currsize == 0;"
        "assert phrasebook.load_phrasebook.cache_info().currsize == 0;"
        "assert 'sklearn' not in sys.modules;"
        "assert not any(m.startswith(('telegram', 'rasa_sdk', 'fastapi', 'flask')) for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
