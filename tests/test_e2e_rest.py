"""End to end through the REST channel of the real servers: the database holds exactly the answers."""
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from bot.app import build_services
from bot.rest_client import RasaUnavailable, RestClient
from bot.store import queries
from bot.store.models import Answer, Participant
from tests.conftest import free_port

pytestmark = pytest.mark.servers


class Participant_:
    """A scripted participant talking to the REST channel."""

    def __init__(self, rasa_url):
        self.client = RestClient(rasa_url, channel="rest")
        self.sender = "e2e-" + uuid.uuid4().hex[:8]

    def say(self, text, message_id=None):
        replies = self.client.send(self.sender, text, message_id=message_id)
        assert replies, f"no reply to {text!r}"
        return " ".join(r.get("text") or "" for r in replies)

    def answer(self, text, message_id=None):
        """Answer, and say 'yes' if asked whether we understood the themes, or 'not sure' if
        asked to pick them (no theme was found)."""
        reply = self.say(text, message_id=message_id)
        if "I think this is about" in reply:
            reply += " " + self.say("/affirm")
        elif "I am not sure what this is about" in reply:
            reply += " " + self.say("not sure")
        return reply


@pytest.fixture(scope="module")
def services(rasa_servers):
    app = build_services(rasa_servers.settings)
    yield app
    app.engine.dispose()


def stored(services, sender):
    with services.sessions() as session:
        person = queries.get_participant(session, pseudonym=services.pseudonymizer.pseudonym(sender))
        if person is None:
            return None
        return [(a.question_id, a.text) for a in queries.answers_for(session, participant=person)]


def start(rasa_servers, role="/role_self"):
    person = Participant_(rasa_servers.rasa_url)
    assert "read my messages out loud" in person.say("hello")
    assert "take part" in person.say("/sound_off")
    assert "answering for" in person.say("/affirm")
    return person, person.say(role)


def test_a_whole_conversation_is_stored_exactly(rasa_servers, services):
    person, reply = start(rasa_servers)
    assert "What makes a good life for you?" in reply
    assert "You said: My friends and my flat" in person.answer("My friends and my flat")
    assert "What else" in person.say("/affirm")
    person.answer("Going to work at the cafe")
    assert "What helps you" in person.say("/deny")
    person.answer("Staff who know me")
    assert "What gets in the way" in person.say("no")
    person.answer("Long waits at the doctors")
    assert "Thank you for your answers" in person.say("/deny")
    assert stored(services, person.sender) == [
        ("good_life", "My friends and my flat"), ("good_life", "Going to work at the cafe"),
        ("what_helps", "Staff who know me"), ("what_gets_in_the_way", "Long waits at the doctors")]
    assert "You told us 4 things" in person.say("what happened to my answers")


def test_a_carer_is_recorded_as_answering_on_behalf(rasa_servers, services):
    person, reply = start(rasa_servers, "/role_on_behalf")
    assert "happy" in reply
    assert "What makes a good life for them?" in person.say("/affirm")
    person.answer("She loves her music group")
    with services.sessions() as session:
        answer = session.execute(select(Answer).where(Answer.text == "She loves her music group")).scalar_one()
        assert answer.role == "on_behalf"
        assert answer.participant.person_agrees is True


def test_bad_input_gets_a_reply_and_is_stored_word_for_word(rasa_servers, services):
    person, _ = start(rasa_servers)
    assert "did not get any words" in person.say("")
    odd = ["😀😀😀", "<b>bold</b> <script>x</script>", "'; DROP TABLE answers; --",
           "Quiero un trabajo", "a" * 5000]
    for text in odd:
        assert "You said" in person.answer(text)
        person.say("/affirm")
    assert [text for _, text in stored(services, person.sender)] == odd


def test_half_a_character_pair_is_stored_as_a_mark_and_the_chat_goes_on(rasa_servers, services):
    # JSON can carry a lone "\ud800", which no database can store.
    person, _ = start(rasa_servers)
    assert "You said: I like my job \ufffd and money" in person.answer("I like my job \ud800 and money")
    assert "What else" in person.say("/affirm")
    person.answer("Seeing my friends")
    assert [text for _, text in stored(services, person.sender)] == \
        ["I like my job \ufffd and money", "Seeing my friends"]


def test_the_same_message_twice_is_stored_once(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.answer("My cat", message_id="dup-1")
    person.say("/affirm")
    person.say("My cat", message_id="dup-1")
    assert stored(services, person.sender) == [("good_life", "My cat")]


def test_a_button_sent_twice_with_one_message_id_is_taken_once(rasa_servers, services):
    person, reply = start(rasa_servers)
    assert "What makes a good life for you?" in reply
    first = person.client.send(person.sender, "/skip", message_id="skip-1")
    assert "What helps you" in " ".join(r.get("text") or "" for r in first)
    assert person.client.send(person.sender, "/skip", message_id="skip-1") == first
    assert services.conversation.progress(person.sender).question_index == 1  # skipped once
    # At the theme check: "Yes" twice confirms the themes, and does not also answer the next
    # question ("Do you want to add anything else?").
    assert "I think this is about" in person.say("I feel safe at home with my staff")
    confirmed = person.client.send(person.sender, "/affirm", message_id="yes-1")
    assert person.client.send(person.sender, "/affirm", message_id="yes-1") == confirmed
    assert "What else" in person.say("/affirm")  # the add-more question was still waiting


def test_a_message_id_beside_sender_and_message_counts_too(rasa_servers, services):
    """Clients that put `message_id` at the top of the body, not in `metadata`: a button sent
    twice is taken once, and an answer sent twice is stored once."""
    import requests

    person, reply = start(rasa_servers)
    url = f"{rasa_servers.rasa_url}/webhooks/rest/webhook"

    def post(text, message_id):
        body = {"sender": person.sender, "message": text, "message_id": message_id}
        response = requests.post(url, json=body, timeout=60)
        assert response.status_code == 200
        return response.json()

    first = post("/skip", "top-skip-1")
    assert post("/skip", "top-skip-1") == first
    assert services.conversation.progress(person.sender).question_index == 1  # skipped once
    checked = post("I feel safe at home with my staff", "top-answer-1")
    assert "I think this is about" in " ".join(r.get("text") or "" for r in checked)
    assert post("I feel safe at home with my staff", "top-answer-1") == checked
    assert stored(services, person.sender) == [("what_helps", "I feel safe at home with my staff")]


@pytest.mark.parametrize("payload", ["/restart", "/back", "/session_start"])
def test_rasas_own_control_payloads_get_a_reply_and_lose_no_step(rasa_servers, services, payload):
    """Typed or sent, Rasa's "/restart", "/back" and "/session_start" are read as words: there
    is a reply, and the chat is not silently wiped or a turn undone."""
    person, reply = start(rasa_servers)
    assert "What makes a good life for you?" in reply
    assert "add anything else" in person.answer("Seeing my friends")
    said = person.say(payload)
    assert said.strip()
    assert stored(services, person.sender) == [("good_life", "Seeing my friends")]


def test_one_message_sent_twice_at_once_is_answered_once(rasa_servers, services):
    person, _ = start(rasa_servers)
    replies = [None, None]

    def send(index):
        replies[index] = person.client.send(person.sender, "I feel safe at home with my staff",
                                            message_id="twice-at-once")

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert replies[0] and replies[0] == replies[1]
    assert stored(services, person.sender) == [("good_life", "I feel safe at home with my staff")]
    assert "add anything else" in person.say("/affirm")  # one theme check: yes goes on


def test_a_message_no_rule_expects_gets_one_reply_and_the_chat_goes_on(rasa_servers, services):
    # After "Do you want to add anything else?" no rule expects a role or a theme button:
    # Rasa's fallback answers once, and the chat is never left without replies.
    person, _ = start(rasa_servers)
    person.answer("My garden")
    for text in ("/role_on_behalf", '/choose_theme{"theme":"purpose"}'):
        replies = person.client.send(person.sender, text)
        words = " ".join(r.get("text") or "" for r in replies)
        assert words.count("add anything else") == 1, words
    # Typed words are more answer: thanked for, and their themes checked.
    words = person.answer("I care for my brother")
    assert "You said: I care for my brother" in words and words.count("add anything else") == 1, words
    assert "What helps you" in person.say("/deny")
    assert [text for _, text in stored(services, person.sender)] == \
        ["My garden", "I care for my brother"]


@pytest.mark.parametrize("message, also", [
    ("hello", None),
    ("What happened to my answers?", "You told us 1 thing"),
    ("/nonsense_intent", "did not understand"),
])
def test_the_theme_check_is_asked_again_after_a_side_message(rasa_servers, services, message,
                                                              also):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    reply = person.say(message)
    assert "I think this is about" in reply and "What makes a good life" not in reply
    assert also is None or also in reply
    assert "They were about" not in reply  # the guess is not theirs until they agree
    assert "Welcome back" not in reply  # a hello in the middle of a visit is not a return
    assert "I think this is about" in person.say("/repeat")  # "Say that again" shows it too
    assert "add anything else" in person.say("/affirm")


def test_an_answer_sent_in_quick_pieces_is_all_kept(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.say("I like going to")
    reply = person.say("the park")  # straight after: the next piece, not "Please press a button"
    assert "You said: the park" in reply and "press" not in reply.split("You said")[0], reply
    assert [text for _, text in stored(services, person.sender)] == ["I like going to", "the park"]


def test_say_that_again_after_help_shows_the_theme_check_not_the_help(rasa_servers, services):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    reply = person.say("/help")
    assert "Say repeat" in reply and "I think this is about" in reply
    again = person.say("/repeat")
    assert "I think this is about" in again and "Say repeat" not in again


def test_a_typed_no_while_picking_themes_shows_the_buttons_again(rasa_servers, services):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    assert "Press all that fit" in person.say("/deny")
    replies = person.client.send(person.sender, "no")
    words = " ".join(r.get("text") or "" for r in replies)
    assert "Please press a button" in words and "add anything else" not in words
    assert any("/no_theme" == b["payload"] for r in replies for b in r.get("buttons") or [])
    assert "add anything else" in person.say("/no_theme")
    with services.sessions() as session:
        answer = session.execute(select(Answer).where(Answer.participant.has(
            Participant.pseudonym == services.pseudonymizer.pseudonym(person.sender)))).scalar_one()
        assert answer.themes_set_by == "participant" and not answer.themes


def themes_of(services, sender):
    """(text, theme ids, who set them) for each stored answer of this participant."""
    with services.sessions() as session:
        person = queries.get_participant(session, pseudonym=services.pseudonymizer.pseudonym(sender))
        return [(a.text, sorted(t.theme_id for t in a.themes), a.themes_set_by)
                for a in queries.answers_for(session, participant=person)]


@pytest.mark.parametrize("typed, themes", [
    ("money and being safe", ["being_safe", "security"]),
    ("Having things to do, Being safe", ["being_safe", "purpose"]),
    ("none of them", []),
])
def test_words_typed_while_picking_pick_themes_and_are_never_a_new_answer(rasa_servers, services,
                                                                         typed, themes):
    person, _ = start(rasa_servers)
    text = "Good staff who listen to me and help me get a job"
    assert "I think this is about" in person.say(text)
    assert "Press all that fit" in person.say("/deny")
    reply = person.say(typed)
    assert "You said" not in reply
    if themes:
        assert "You picked" in reply
        assert "add anything else" in person.say("/themes_done")
    else:
        assert "add anything else" in reply
    assert themes_of(services, person.sender) == [(text, themes, "participant")]


@pytest.mark.parametrize("typed, expected", [
    ("thanks", "Please press a button"),  # not a yes: the check again
    ("maybe", "add anything else"),  # not sure: the tagger's themes stay
    ("none", "add anything else"),  # none of them: the participant's own choice
    ("all of them", "add anything else"),  # the themes shown are all right
    ("good", "add anything else"),  # read as a greeting by NLU: a yes here
    ("sounds good", "add anything else"),  # read as sound on by NLU: a yes here
    ("no it is not right", "Press all that fit"),  # a no in a few words: never a new answer
])
def test_typed_replies_at_the_theme_check(rasa_servers, services, typed, expected):
    person, _ = start(rasa_servers)
    text = "Good staff who listen to me and help me get a job"
    assert "I think this is about" in person.say(text)
    [(_, auto, _)] = themes_of(services, person.sender)
    reply = person.say(typed)
    assert expected in reply and "You said" not in reply
    if typed == "thanks":
        assert "I think this is about" in reply  # the check again, with its buttons
    assert themes_of(services, person.sender) == [
        (text, [], "participant") if typed == "none" else
        (text, auto, "participant") if typed in ("all of them", "good", "sounds good")
        else (text, auto, None)]


def test_the_same_answer_sent_twice_is_stored_once(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.say("I like my garden")
    reply = person.say("I like my garden")
    assert "You said: I like my garden" in reply
    assert stored(services, person.sender) == [("good_life", "I like my garden")]


def test_the_same_words_as_a_carer_then_for_themselves_are_two_answers(rasa_servers, services):
    person, _ = start(rasa_servers, "/role_on_behalf")
    assert "answer the way they would" in person.say("yes he is happy")  # a yes in own words
    person.answer("He needs a routine and a quiet room")
    person.say("/deny")
    person.say("start again")
    assert "answering for" in person.say("/affirm")
    person.say("/role_self")
    assert "You said" in person.answer("He needs a routine and a quiet room")
    with services.sessions() as session:
        who = queries.get_participant(session, pseudonym=services.pseudonymizer.pseudonym(person.sender))
        assert [(a.role, a.text) for a in queries.answers_for(session, participant=who)] == \
            [("on_behalf", "He needs a routine and a quiet room"),
             ("self", "He needs a routine and a quiet room")]


@pytest.mark.parametrize("typed, theme", [("good staff", "skilled_supporters"), ("home", "security"),
                                          ("feeling safe", "being_safe")])
def test_one_theme_typed_while_picking_is_picked(rasa_servers, services, typed, theme):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    person.say("/deny")
    assert "Added" in person.say(typed)
    assert "add anything else" in person.say("/themes_done")
    [(_, themes, set_by)] = themes_of(services, person.sender)
    assert (themes, set_by) == ([theme], "participant")


@pytest.mark.parametrize("take_back", ["/pick_again", "pick again", "take away money"])
def test_a_picked_theme_can_be_taken_back(rasa_servers, services, take_back):
    person, _ = start(rasa_servers)
    text = "Good staff who listen to me and help me get a job"
    assert "I think this is about" in person.say(text)
    person.say("/deny")
    replies = person.client.send(person.sender, '/choose_theme{"theme":"security"}')
    assert any(b["payload"] == "/pick_again" for r in replies for b in r.get("buttons") or [])
    reply = person.say(take_back)
    assert ("Nothing is picked now" if "again" in take_back else "is not picked now") in reply
    assert "You said" not in reply
    person.say('/choose_theme{"theme":"purpose"}')
    assert "add anything else" in person.say("/themes_done")
    assert themes_of(services, person.sender) == [(text, ["purpose"], "participant")]


@pytest.mark.parametrize("theme, typed, expected", [
    ("being_safe", "remove being safe", "is not picked now"),  # NLU: delete my data
    ("accepted_valued", "take away being accepted", "is not picked now"),  # NLU: leave
    ("accepted_valued", "take out being accepted", "is not picked now"),
    ("skilled_supporters", "delete good staff", "is not picked now"),
    ("skilled_supporters", "take good staff away", "is not picked now"),  # NLU: a role
    ("purpose", "start picking again", "Nothing is picked now"),  # NLU: start again
])
def test_taking_a_theme_back_in_words_is_never_read_as_leaving_or_deleting(rasa_servers, services,
                                                                            theme, typed, expected):
    person, _ = start(rasa_servers)
    text = "Good staff who listen to me and help me get a job"
    assert "I think this is about" in person.say(text)
    person.say("/deny")
    person.say('/choose_theme{"theme":"%s"}' % theme)
    person.say('/choose_theme{"theme":"security"}')
    reply = person.say(typed)
    assert expected in reply, reply
    assert "delete" not in reply and "stop taking part" not in reply and "Welcome" not in reply
    if "again" in typed:  # nothing is picked: pick one now
        person.say('/choose_theme{"theme":"security"}')
    assert "add anything else" in person.say("/themes_done")
    assert themes_of(services, person.sender) == [(text, ["security"], "participant")]


@pytest.mark.parametrize("first, expected", [
    ("help", "read my messages out loud"),  # the help, then the welcome
    ("yes", "read my messages out loud"),
    ("I want to tell you about my life", "read my messages out loud"),
    ("what does that mean", "read my messages out loud"),
    ("sound on", "Do you want to take part"),  # sound chosen: the introduction
    ("stop", "Say hello when you want to start"),
])
def test_any_first_message_leads_into_the_chat(rasa_servers, services, first, expected):
    person = Participant_(rasa_servers.rasa_url)
    reply = person.say(first)
    assert expected in reply, reply
    assert "We have kept your answers" not in reply and "did not understand" not in reply
    if first == "help":
        assert reply.count("You can type, or press a button") == 1
    if first != "stop":  # and the chat goes on from there
        assert stored(services, person.sender) in (None, [])


@pytest.mark.parametrize("typed", ["what does that mean?", "can you explain", "5"])
def test_a_question_about_the_question_is_not_stored(rasa_servers, services, typed):
    person, _ = start(rasa_servers)
    reply = person.say(typed)
    assert "You said" not in reply and "What makes a good life" in reply  # the question again
    assert ("no right or wrong answers" in reply) is (typed != "5")
    assert stored(services, person.sender) == []


def test_sound_off_at_the_theme_check_asks_the_check_again(rasa_servers, services):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    replies = person.client.send(person.sender, "sound off")
    words = " ".join(r.get("text") or "" for r in replies)
    assert "No sound" in words and "I think this is about" in words
    assert any(b["payload"] == "/affirm" for r in replies for b in r.get("buttons") or [])


def test_help_after_a_side_message_shows_the_check_not_the_side_message(rasa_servers, services):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    person.say("Delete my answers")
    assert "kept your answers" in person.say("No, keep them")
    reply = person.say("/help")
    assert "Say repeat" in reply and "I think this is about" in reply
    assert "kept your answers" not in reply


def test_i_dont_know_after_add_more_goes_on(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.answer("My garden")
    reply = person.say("I don't know")
    assert "What helps you" in reply and "did not understand" not in reply
    assert stored(services, person.sender) == [("good_life", "My garden")]


def test_a_support_worker_is_asked_about_the_people_they_support(rasa_servers, services):
    person, reply = start(rasa_servers, "/role_support_worker")
    assert "What makes a good life for the people you support?" in reply
    person.answer("Staff who have time to listen")
    assert "What helps the people you support" in person.say("/deny")


@pytest.mark.parametrize("answer", ["Noise makes me upset", "Noise on the bus makes me upset",
                                    "Bright lights hurt my eyes"])
def test_everyday_sensory_answers_are_not_taken_for_harm(rasa_servers, services, answer):
    person, _ = start(rasa_servers)
    reply = person.say(answer)
    assert f"You said: {answer}" in reply
    assert "999" not in reply and "Thank you for telling us" not in reply


def test_no_to_deleting_at_the_theme_check_goes_back_to_it_and_deletes_nothing(rasa_servers,
                                                                            services):
    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    assert "delete" in person.say("Delete my answers")
    reply = person.say("/deny")
    assert "We kept your answers" in reply and "I think this is about" in reply
    assert "did not understand" not in reply
    assert "add anything else" in person.say("/affirm")  # answers the theme check, deletes nothing
    assert stored(services, person.sender) == [
        ("good_life", "Good staff who listen to me and help me get a job")]


def test_no_to_deleting_at_a_question_asks_the_question_again(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.answer("My friends")
    assert "What helps you" in person.say("/deny")
    assert "delete" in person.say("Delete my answers")
    reply = person.say("/deny")
    assert "We kept your answers" in reply and "What helps you" in reply
    assert "did not understand" not in reply
    assert "You said: Having a job in a shop" in person.say("Having a job in a shop")
    assert stored(services, person.sender) == [("good_life", "My friends"),
                                               ("what_helps", "Having a job in a shop")]


def test_a_carer_asking_to_answer_anyway_is_not_taken_out(rasa_servers, services):
    person, reply = start(rasa_servers, "/role_on_behalf")
    assert "happy" in reply
    reply = person.say("Can I just answer anyway?")
    assert "You are not taking part now" not in reply
    assert services.conversation.progress(person.sender).consented
    # Leaving in plain words, or by the button, still works at once.
    assert "You are not taking part now" in person.say("/withdraw_consent")


@pytest.mark.parametrize("typed", ["hello", "banana"])
def test_after_start_again_the_consent_question_waits_for_its_answer(rasa_servers, services,
                                                                     typed):
    person, _ = start(rasa_servers)
    person.answer("My friends")
    assert "Do you want to take part?" in person.say("start again")
    reply = person.say(typed)
    assert "Do you want to take part?" in reply and "What makes a good life" not in reply
    assert "answering for" in person.say("/affirm")  # the role is asked anew
    assert stored(services, person.sender) == [("good_life", "My friends")]


def test_we_have_news_is_said_until_the_news_is_heard(rasa_servers, services):
    """A returning participant who finished hears "We have news" until this chat has told
    them the news; a later change to an action is news again."""
    from sqlalchemy import update

    from bot.store.models import StaffAction

    person, _ = start(rasa_servers)
    for answer in ("I want to feel safe at home", "My staff", "Noisy buses"):
        person.answer(answer)
        person.say("/deny")
    themes = services.conversation.you_said_we_did(person.sender).themes
    assert themes
    with services.sessions.begin() as session:
        session.add(StaffAction(theme_id=themes[0], text="We are training staff", status="doing"))
    assert "We have news" in person.say("hello")
    assert "We are training staff. We are doing this now." in person.say("/what_happened")
    assert "We have news" not in person.say("hello")
    with services.sessions.begin() as session:
        session.execute(update(StaffAction).where(StaffAction.text == "We are training staff")
                        .values(status="done", revision=2))
    assert "We have news" in person.say("hello")


def test_the_end_on_rest_says_news_cannot_be_sent_here(rasa_servers, services):
    person, _ = start(rasa_servers)
    for _ in range(2):
        person.say("/skip")
    reply = person.say("/skip")
    assert "That was the last question" in reply and "next question" not in reply
    assert "cannot send you news in this chat" in reply
    assert "Can we send you a message" not in reply
    assert "cannot send you messages in this chat" in person.say("/updates_yes")


def test_a_very_long_answer_asks_the_same_question_again(rasa_servers, services):
    person, _ = start(rasa_servers)
    reply = person.say("word " * 4801)
    assert "very long" in reply and "What makes a good life for you?" in reply
    assert "add anything else" not in reply
    assert "You said: My garden" in person.answer("My garden")
    assert stored(services, person.sender) == [("good_life", "My garden")]


def test_maybe_or_a_smiley_after_add_more_is_not_stored(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.answer("My garden")
    for text in ("maybe", "😀🎉"):
        reply = person.say(text)
        assert "Please press Yes or No" in reply and "You said" not in reply
    assert stored(services, person.sender) == [("good_life", "My garden")]


def test_the_same_rest_message_twice_at_add_more_is_stored_once(rasa_servers, services):
    # As an operator's script would send it: the id at the top and in the metadata.
    import requests

    person, _ = start(rasa_servers)
    person.answer("Going to the park with my dog")
    body = {"sender": person.sender, "message": "Quiet places", "message_id": "q2dup",
            "metadata": {"message_id": "q2dup"}}
    url = f"{rasa_servers.rasa_url}/webhooks/rest/webhook"
    for _ in range(2):
        replies = requests.post(url, json=body, timeout=60).json()
        assert replies
        if "I think this is about" in " ".join(r.get("text") or "" for r in replies):
            person.say("/affirm")
    assert stored(services, person.sender) == [
        ("good_life", "Going to the park with my dog"), ("good_life", "Quiet places")]


@pytest.mark.parametrize("asked", ["is this secret?", "will you tell anyone what I say?",
                                   "who will see my answers"])
def test_asking_whether_answers_are_private_gets_an_honest_reply(rasa_servers, services, asked):
    person, _ = start(rasa_servers)
    reply = person.say(asked)  # at the first question
    assert "Your answers stay private. But if someone may be at risk of harm" in reply, reply
    assert "What makes a good life" in reply and "You said" not in reply
    assert stored(services, person.sender) == []
    assert "I think this is about" in person.say("Good staff who listen to me and help me get a job")
    reply = person.say(asked)  # at the theme check: the check again after the reply
    assert "stay private" in reply and "I think this is about" in reply and "You said" not in reply


def test_stop_and_come_back_later(rasa_servers, services):
    person, _ = start(rasa_servers)
    person.answer("My garden")
    person.say("/deny")
    replies = person.client.send(person.sender, "stop")
    assert "kept your answers" in replies[-1]["text"]
    assert [b["title"] for b in replies[-1]["buttons"]] == ["Carry on"]  # typing is not the only way
    reply = person.say(replies[-1]["buttons"][0]["payload"])
    assert "Welcome back" in reply and "What helps you" in reply


def test_stop_before_any_answer_does_not_speak_of_kept_answers(rasa_servers, services):
    person, _ = start(rasa_servers)
    reply = person.say("stop")
    assert "Come back any time" in reply and "kept your answers" not in reply
    assert "What makes a good life" in person.say("/greet")


def test_saying_no_stores_nothing_but_a_count(rasa_servers, services):
    with services.sessions() as session:
        before = queries.get_counter(session, engagement_id=services.engagement.id,
                                     name="consent_declined")
    person = Participant_(rasa_servers.rasa_url)
    person.say("hi")
    person.say("/sound_on")
    replies = person.client.send(person.sender, "/deny")
    assert "That is fine" in replies[-1]["text"]
    assert stored(services, person.sender) is None
    # Changing their mind is a button away: the start again (nothing about them was kept).
    assert [b["title"] for b in replies[-1]["buttons"]] == ["Take part"]
    assert "read my messages out loud" in person.say(replies[-1]["buttons"][0]["payload"])
    assert "Do you want to take part" in person.say("/sound_off")
    with services.sessions() as session:
        assert queries.get_counter(session, engagement_id=services.engagement.id,
                                   name="consent_declined") == before + 1


def test_not_understood_gets_buttons(rasa_servers):
    person, _ = start(rasa_servers)
    person.say("/skip"), person.say("/skip"), person.say("/skip")
    replies = person.client.send(person.sender, "/nlu_fallback")
    assert any(r.get("buttons") for r in replies)


def test_a_message_sent_while_rasa_restarts_is_delivered_when_it_is_back():
    port = free_port()
    client = RestClient(f"http://127.0.0.1:{port}")
    with pytest.raises(RasaUnavailable):
        client.send("s", "hello")
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'[{"text": "back"}]')

        def log_message(self, *args):
            pass

    servers = []

    def come_back():
        servers.append(HTTPServer(("127.0.0.1", port), Handler))
        servers[0].serve_forever()

    timer = threading.Timer(1.0, come_back)
    timer.start()
    waited = []
    try:
        replies = client.send_reliably("s", "my answer", "msg-1", patience=10,
                                       on_wait=lambda: waited.append(True))
    finally:
        timer.join(0.1) if not servers else servers[0].shutdown()
        timer.join()
    assert replies == [{"text": "back"}] and waited == [True]
    assert [r["metadata"]["message_id"] for r in received] == ["msg-1"]


def test_a_disclosure_gets_the_calm_script_and_an_alert(rasa_servers, services):
    person, _ = start(rasa_servers)
    reply = person.say("My support worker hits me when nobody is there")
    assert "Thank you for telling us" in reply and "999" in reply and "You said" not in reply
    assert "What gets in the way" not in reply
    assert "What helps you" in person.say("/affirm")
    assert flagged_with_an_open_alert(services, "My support worker hits me when nobody is there")


def flagged_with_an_open_alert(services, text):
    """True when the answer with these words is flagged and its alert waits for the lead."""
    from bot.store.models import SafeguardingAlert

    with services.sessions() as session:
        answer = session.execute(select(Answer).where(Answer.text == text)).scalar_one()
        alert = session.execute(select(SafeguardingAlert).where(
            SafeguardingAlert.answer_id == answer.id)).scalar_one()
    return answer.flagged and alert.status == "open"


@pytest.mark.parametrize("answer", ["I don't want to go to college any more",
                                    "I do not want to do cooking any more"])
def test_not_wanting_something_any_more_is_an_answer_not_leaving(rasa_servers, services, answer):
    person, _ = start(rasa_servers)
    reply = person.say(answer)
    assert "not taking part" not in reply and "You said: " + answer in reply
    assert stored(services, person.sender) == [("good_life", answer)]


@pytest.mark.parametrize("words", ["I don't want to do this any more", "I dont want to do this anymore"])
def test_leaving_words_at_a_question_are_never_kept_as_an_answer(rasa_servers, services, words):
    person, _ = start(rasa_servers)
    reply = person.say(words)
    # Rasa sure of it: they leave at once. Less sure (the test model often is): they are asked.
    assert "You are not taking part now" in reply or "Do you want to stop taking part?" in reply
    assert "You said" not in reply and stored(services, person.sender) == []
    if "Do you want to stop taking part?" in reply:
        assert "What makes a good life for you?" in person.say("/greet")  # "No, carry on"
        assert "You said: My friends" in person.answer("My friends")
        assert stored(services, person.sender) == [("good_life", "My friends")]


def test_a_typed_yes_or_no_answers_do_you_want_to_stop_taking_part(rasa_servers, services):
    for typed, leaves in (("no", False), ("yes", True)):
        person, _ = start(rasa_servers)
        reply = person.say("I don't want to do this any more")
        if "Do you want to stop taking part?" not in reply:
            pytest.skip("this model is sure of these words: it does not ask")
        reply = person.say(typed)
        if leaves:
            assert "You are not taking part now" in reply
            assert not services.conversation.progress(person.sender).consented
        else:
            assert "Here is my question again." in reply and "What makes a good life" in reply
            assert services.conversation.progress(person.sender).consented
        assert stored(services, person.sender) == []


def test_not_wanting_to_see_someone_any_more_is_screened_not_taken_as_leaving(rasa_servers, services):
    person, _ = start(rasa_servers)
    reply = person.say("I do not want to see him any more")
    assert "not taking part" not in reply and "Thank you for telling us" in reply
    assert flagged_with_an_open_alert(services, "I do not want to see him any more")
    assert services.conversation.progress(person.sender).consented  # still taking part


def test_an_answer_in_letters_the_detector_cannot_read_goes_to_a_person(rasa_servers, services):
    from bot.store.models import SafeguardingAlert

    person, _ = start(rasa_servers)
    words = "مجھے اپنا خاندان پسند ہے"
    reply = person.say(words)
    assert "I can only read English. A person will read what you wrote." in reply and "999" in reply
    assert "Thank you for telling us" not in reply and "You said" not in reply
    assert "What helps you" in person.say("/affirm")
    with services.sessions() as session:
        answer = session.execute(select(Answer).where(Answer.text == words)).scalar_one()
        alert = session.execute(select(SafeguardingAlert).where(
            SafeguardingAlert.answer_id == answer.id)).scalar_one()
    assert answer.flagged and alert.status == "open" and alert.categories == "other_script"


def test_a_changed_message_is_checked_for_harm_but_never_stored_as_an_answer(rasa_servers, services):
    from bot.store.models import SafeguardingAlert

    person, _ = start(rasa_servers)
    assert "I think this is about" in person.say("I like my home and my garden")
    # Telegram sends a changed message's new words as an edit (bot/telegram/handlers.py).
    reply = person.say('/edited{"edited_words": "I like my home and my garden very much"}')
    assert "I cannot see changes to a message" in reply and "I think this is about" in reply
    words = "I like my home but my brother hits me and I am scared of him"
    reply = person.say('/edited{"edited_words": "%s"}' % words)
    assert "Thank you for telling us" in reply and "999" in reply
    with services.sessions() as session:
        alert = session.execute(select(SafeguardingAlert).where(SafeguardingAlert.text == words)).scalar_one()
    assert alert.answer_id is None and alert.status == "open"
    assert [text for _, text in stored(services, person.sender)] == ["I like my home and my garden"]


@pytest.mark.parametrize("first", ["he hits me every day",  # NLU: disclose_harm
                                   "my uncle touches me and I dont like it"])  # NLU: share
def test_a_disclosure_as_the_first_message_gets_the_script_and_a_way_to_start(rasa_servers, services,
                                                                              first):
    person = Participant_(rasa_servers.rasa_url)
    replies = person.client.send(person.sender, first)
    words = " ".join(r.get("text") or "" for r in replies)
    assert "Thank you for telling us" in words and "999" in words
    assert [b["title"] for b in replies[-1]["buttons"]] == ["Start"]
    assert "read my messages out loud" in person.say(replies[-1]["buttons"][0]["payload"])


def test_logs_hold_no_answer_text_and_no_secrets(rasa_servers, services):
    person, _ = start(rasa_servers)
    secret_words = "Aardvark" + uuid.uuid4().hex[:6] + " is my best friend"
    person.answer(secret_words)
    logs = "".join(p.read_text(errors="replace")
                   for p in (rasa_servers.settings.var_dir / "logs").glob("*.log"))
    assert logs, "the servers write logs"
    assert secret_words.split()[0] not in logs
    assert rasa_servers.settings.hash_key not in logs


def test_the_action_server_warms_up_before_the_first_answer(rasa_servers):
    # The tagger and the safeguarding model are ready without anyone answering first.
    import time
    from pathlib import Path

    log = Path(rasa_servers.settings.var_dir) / "logs" / "actions.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if "The action server is warm" in log.read_text(errors="replace"):
            break
        time.sleep(0.5)
    assert "The action server is warm" in log.read_text(errors="replace")
    assert "Warming up the action server failed" not in log.read_text(errors="replace")
