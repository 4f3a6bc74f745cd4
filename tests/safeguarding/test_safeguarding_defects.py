"""Defects an outside tester found, each fixed in the mechanism and checked here with the
reported wording and with variants written afterwards (not copied from the report)."""
import pytest


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
