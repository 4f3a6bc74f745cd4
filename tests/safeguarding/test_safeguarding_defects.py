"""Defects an outside tester found, each fixed in the mechanism and checked here with the
reported wording and with variants written afterwards (not copied from the report)."""
import dataclasses

import pytest

from bot.safeguarding.detector import Detector
from bot.safeguarding.phrasebook import load_phrasebook


# --- A negation with an exception: the harm is still told ------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        # reported
        "nobody hurts me except my brother",
        "no one hits me apart from dad",
        "nobody hurts him except his key worker",
        "nobody hurts me, only my uncle",
        "no one hits me now but they did",
        "nobody hurts me now but my last carer did",
        # variants
        "nobody hits me except for my stepdad",
        "no one touches me apart from my uncle",
        "nobody shouts at me other than the night staff",
        "nobody hurts her, only her boyfriend",
        "nobody takes my money except my nephew",
        "my carer does not hit me, only the agency staff do",
        "nobody hurts me anymore but my ex did",
        "no one bullies me now but they used to",
        "nobody hits me at home except my brother",
        "nobody kicks him besides the lads at college",
        "noone hurts me xcept my bro",
        "nobody is nasty to me apart from my sister",
        "i'm not bullied except by the lads at the bus stop",
    ],
)
def test_a_negation_with_an_exception_is_still_a_disclosure(detector, text):
    assert detector.detect(text).disclosure, text


@pytest.mark.parametrize(
    "text",
    [
        "nobody hurts me but i feel lonely",
        "no one hurts me, only sometimes i feel sad",
        "nobody hurts me and apart from that i am happy",
        "no one takes my money, only me",
        "I'm not scared but I was nervous at first",
        "nobody hurts me now",
    ],
)
def test_a_negation_without_a_doer_after_it_still_holds(detector, text):
    assert not detector.detect(text).disclosure, text


# --- Immediate danger: the flag follows the danger, not the word "now" ----------------------

@pytest.mark.parametrize(
    "text",
    [
        # reported
        "my old school bullied me but it's sorted now",
        "my dad hit me last year but it is fine now",
        # variants
        "my stepdad used to hit me but he is in prison now",
        "the lads at college picked on me but i am ok now",
        "my ex hit me years ago, i am safe now",
        "my brother took my money but that has stopped now",
        "he used to hit me when he was drunk",
        "i was going to kill myself last year",
        "someone followed me home last year",
    ],
)
def test_harm_that_is_over_is_a_disclosure_but_not_immediate(detector, text):
    found = detector.detect(text)
    assert found.disclosure, text
    assert not found.immediate_danger, text
    assert "immediate_danger" not in found.categories


@pytest.mark.parametrize(
    "text",
    [
        # the first cases (danger now, in so many words)
        "he's outside now",
        "I'm scared to go home tonight",
        "please help he is hitting me right now",
        "im going to kill myself tonight",
        "I've taken all my pills",
        "he has a knife",
        # reported
        "im going to hang myself",
        "im going to kill myself",
        "I have the pills in my hand",
        "he is going to hit me again when he gets home",
        "i am going to jump off the bridge",
        "my foster dad beats me when he is drunk",
        # variants
        "i'm gonna cut myself",
        "im about to end it all",
        "she says she will take all her tablets",
        "he said he is going to jump in front of a train",
        "i've got the rope ready",
        "i am holding a blade to my wrist",
        "she has all her pills in front of her",
        "my brother will batter me when he comes back",
        "my mum's boyfriend is going to beat me up tonight",
        "he is going to kill me",
        "i am going to take all my paracetamol",
        "he is not safe now",
        "i am not safe now",
    ],
)
def test_danger_now_is_marked_immediate(detector, text):
    found = detector.detect(text)
    assert found.disclosure and found.immediate_danger, text
    assert "immediate_danger" in found.categories


@pytest.mark.parametrize(
    "text",
    [
        "i am not going to kill myself",
        "staff have my pills ready for me",
        "I keep my pills next to me on the table",
        "my mum will kill me if i am late",
    ],
)
def test_no_danger_is_not_marked(detector, text):
    found = detector.detect(text)
    assert not found.disclosure and not found.immediate_danger, text


@pytest.mark.parametrize(
    "text",
    [
        "my dad hit me last year but it is fine now",
        "i am going to jump off the bridge",
        "my foster dad beats me when he is drunk",
        "someone is following me",
        "he takes my money",
        "she is missing, she left with no coat",
        "i do not know where i am and he hurts me",
    ],
)
def test_the_immediate_flag_and_category_agree(detector, text):
    found = detector.detect(text)
    assert found.disclosure
    assert found.immediate_danger == ("immediate_danger" in found.categories), found


# --- A harm word on its own, short messages and misspellings ---------------------------------

@pytest.mark.parametrize(
    "text",
    [
        # reported
        "abused", "assaulted", "kicked", "punched", "beaten", "exploited",
        "i want to kms", "i want to unalive", "my suport worker is horibble to me",
        # variants
        "raped", "scammed", "neglected", "groomed", "Bullied.", "strangled", "Assaulted!!",
        "i was beaten", "i got kicked again", "bullied at school", "beaten up by some lads",
        "abused by my uncle as a child", "stabbed", "trafficked",
        "kms", "i am gonna kms", "he told me to kys", "they keep telling me to go die",
        "she unalived herself and i think about doing it too", "thinking about unaliving",
        "my carrer is horible to me", "my suport wroker is narsty to me", "i got beatn",
    ],
)
def test_a_harm_word_on_its_own_or_in_a_short_message_is_a_disclosure(detector, text):
    assert detector.detect(text).disclosure, text


@pytest.mark.parametrize(
    "text",
    [
        "i walked 5 kms today",
        "kicked out of college",
        "I love my support worker",
        "my suport worker is great",
        "Touchscreen",
        "unbeaten run for my team",
    ],
)
def test_short_everyday_messages_are_not_flagged(detector, text):
    assert not detector.detect(text).disclosure, text


# --- Near-misses: idioms, television and road safety are not disclosures ---------------------

@pytest.mark.parametrize(
    "text",
    [
        # reported
        "The bus driver shouted at everyone",
        "the film made me want to die laughing",
        "I feel unsafe crossing the big road",
        "I watched EastEnders and someone got stabbed",
        # variants
        "the man in the shop yelled at everybody",
        "the teacher shouted at the whole class",
        "my dad shouts at the telly when the football is on",
        "we nearly died laughing at the panto",
        "I nearly wet myself laughing",
        "i almost cried laughing",
        "i laughed my head off",
        "I'm nervous crossing at the lights",
        "the roundabout near the centre is dangerous",
        "im scared of cars",
        "the crossing by college is not safe",
        "The lorries on our road go so fast it feels unsafe to walk to the shop",
        "a car nearly knocked me over on the zebra crossing",
        "on corrie someone got stabbed",
        "someone got stabbed on eastenders last night",
        "a man got shot in the film",
        "i watched a horror film and a girl got kidnapped and killed",
        "my brother plays call of duty and shoots people",
    ],
)
def test_near_misses_are_not_disclosures(detector, text):
    found = detector.detect(text)
    assert not found.disclosure, (text, found)
    assert not found.immediate_danger


@pytest.mark.parametrize(
    "text",
    [
        "staff shouted at everyone at dinner",
        "my carer screams at everyone",
        "the bus driver shouted at me",
        "the man on the bus shouted at everyone and then he hit me",
        "i watched eastenders and then my dad hit me",
        "i watched eastenders and someone hit me",
        "we were watching tv and he punched mum",
        "he got stabbed on eastenders",
        "I feel unsafe at home",
        "i feel unsafe on the street because the lads shout at me",
        "i am scared to cross the road since he pushed me into it",
        "the traffic is scary and he pushes me into it",
        "i want to die laughing is what i say but really i want to die",
    ],
)
def test_harm_next_to_a_near_miss_still_counts(detector, text):
    assert detector.detect(text).disclosure, text


# The seventh blind set (2026-11-24, 260 cases written without seeing the detector) missed 6
# of 110 disclosures. Each is fixed by a phrase; these are other wordings of the same harm, and
# everyday sentences the new phrases must leave alone.
@pytest.mark.parametrize(
    "text, disclosure",
    [
        ("sometimes i think about jumping in front of a bus", True),
        ("I want to walk in front of a lorry", True),
        ("I stepped in front of the bus to help an old lady on", False),
        ("my landlord comes in when I am in the shower and watches me", True),
        ("he stares at her while she is getting changed", True),
        ("my dad forgot to give me my epilepsy tablets again", True),
        ("the carers keep missing his insulin", True),
        ("my mum helps me with my tablets", False),
        ("staff say I cant pray in my room", True),
        ("they took my prayer mat", True),
        ("I cannot go to church because there is no bus on Sunday", False),
        ("we only get snacks if staff say we have been good", True),
        ("if we argue we lose our money for the week", True),
        ("the bus driver would not let me on", False),
        ("Some nights I think about taking us both out of it.", True),
        ("we took them out of it for the day, a trip to the seaside", False),
        ("I don't see the point of the meetings", False),
        ("he takes my keys so I can't leave", True),
        ("he takes my keys so I can't drive drunk", False),
        ("the staff lock the bedroom doors from the outside at night", True),
    ],
)
def test_seventh_blind_sets_misses_in_other_words(detector, text, disclosure):
    assert detector.detect(text).disclosure is disclosure, text


# The eighth blind set (2026-11-24, 260 cases written without seeing the detector) missed 3 of
# 110 disclosures and flagged 23 of 150 others; 26 of its disclosures only the n-gram model caught.
# Each is now a phrase (so the phrase list alone keeps recall 0.95) or a mask: these are other
# wordings of the harm, and everyday words beside them, checked with and without the model.
@pytest.mark.parametrize(
    "text, disclosure",
    [
        ("I keep thinking about not existing", True),
        ("I have thought about not existing any more", True),
        ("My husband decides what I wear and who I talk to", True),
        ("staff decide when I can go out", True),
        ("being able to choose what I eat. I like curry", False),
        ("I want to decide what I wear", False),
        ("mum goes out for days and there is no one to make my tea", True),
        ("my dad went off for two days and left me on my own", True),
        ("My mum is away for a few days with work so I stay with my nan", False),
        ("my brother shot me with his air rifle", True),
        ("the lads fire pellets at us from the flats", True),
        ("my nephew shot me with his nerf gun lol", False),
        ("we had a water pistol fight in the garden", False),
        ("My football team got battered again", False),
        ("we got battered by the lads on the estate", True),
        ("I do hand flapping when I am happy", False),
        ("she slapped me", True),
        ("I want to die... of embarrassment", False),
        ("I want to die", True),
        ("i go to bed hungry most nights", True),
        ("I went to bed early because I was tired", False),
        ("nobody comes to help me get washed some days", True),
        ("nobody comes to the group on Mondays", False),
        ("I don't want to go home tonight.", True),
        ("I don't want to go home yet, the party is great", False),
        ("the kitchen smells of gas and I can't turn it off", True),
        ("we cook on gas at home", False),
        ("her benefits go straight into her brother's account", True),
        ("my wages go straight into my bank account", False),
        ("money keeps going missing from his wallet", True),
        ("my keys went missing again, I lose everything", False),
        ("my dad says I ruined his life", True),
        ("the rain ruined my day out", False),
        ("they lock him in the quiet room on his own for hours", True),
        ("I like the quiet room at college, it helps me calm down", False),
        ("he hides my tablets if I don't do what he says", True),
        ("I keep my tablets in a box", False),
        ("he asked me to keep a parcel in my room and not tell anyone", True),
        ("I got a parcel from Amazon today", False),
        ("my key was copied and they come in while I am asleep", True),
        ("the locksmith cut me a new key", False),
        ("I found razor blades in her drawer", True),
        ("they put salt in my drink", True),
        ("I put salt on my chips", False),
        ("she had a burn the shape of an iron on her arm", True),
        ("mum is not waking up", True),
        ("my son is not waking up in time for college", False),
        ("he does not wake up in time for work", False),
        ("I never wake up on time without my alarm", False),
        ("I hope I do not wake up tomorrow", True),
    ],
)
def test_eighth_blind_set_in_other_words(detector, text, disclosure):
    phrases_only = Detector(dataclasses.replace(load_phrasebook(), model=None))
    assert detector.detect(text).disclosure is disclosure, text
    assert phrases_only.detect(text).disclosure is disclosure, text


def test_one_weak_phrase_found_in_every_sentence_counts_once(detector):
    """An outside check (2026-11-24): a carer's long answer about money worries was flagged, as
    each "money" added to the score. A phrase found again is one piece of evidence."""
    sentence = "The money never lasts the month. "
    assert detector.detect(sentence * 8).score == pytest.approx(detector.detect(sentence).score,
                                                                abs=0.05)
    long_answer = (
        "Money is the biggest thing for us. My son gets benefits but the money never lasts the "
        "month. He cannot afford to go out with his friends. The bills keep going up and the "
        "money is gone by the third week. We worry about money all the time. He has to choose "
        "between food and heating sometimes. His friends go out and he cannot because there is "
        "no money. If he had a bit more money he could go to the cinema with his friends.")
    assert not detector.detect(long_answer).disclosure
    # Money taken by someone is still a disclosure, however long the answer around it.
    assert detector.detect(long_answer + " My brother takes his bank card and keeps it.").disclosure
