"""The web chat sends each post to Rasa once (double clicks, resubmitted forms, two posts at
the same time) and says kindly when a post has no words. Rasa is a fake at the network edge."""
from __future__ import annotations

import concurrent.futures

import requests

from bot.web.transcript import MAX_MESSAGE_IDS, Transcript
from web_pages import read_page
from web_support import ASK_ME, post, visit


def messages_sent(fake_rasa):
    """What Rasa was sent, in order."""
    return [body["message"] for body in fake_rasa.received]


def reload(browser, served):
    """The chat page as the person sees it now."""
    return read_page(browser.get(served.url + "/").text)


def asked(browser, served, page):
    """Type the words that make the fake Rasa ask its first question (with a Skip button)."""
    assert post(browser, served, page, text=ASK_ME).status_code == 303
    page = reload(browser, served)
    assert page.texts[-1] == "Question 1: what helps you?"
    assert page.choices == [("/skip", "Skip this question")]
    return page


def test_skip_pressed_twice_on_one_page_skips_one_question(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    page = asked(browser, served, page)

    first = post(browser, served, page, payload="/skip")
    second = post(browser, served, page, payload="/skip")  # a double click or a resubmit
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["Location"] == "/#latest"
    assert messages_sent(fake_rasa) == ["/greet", ASK_ME, "/skip"]
    now = reload(browser, served)
    assert now.texts[-2:] == ["Skip this question", "Question 2: what helps you?"]
    assert now.texts.count("Skip this question") == 1
    assert now.notice == ""


def test_a_typed_answer_posted_twice_reaches_rasa_once(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    page = asked(browser, served, page)
    before = len(page.texts)

    for _ in range(2):
        response = post(browser, served, page, text="Friends and music")
        assert response.status_code == 303
    assert messages_sent(fake_rasa) == ["/greet", ASK_ME, "Friends and music"]
    now = reload(browser, served)
    assert now.texts[before:] == ["Friends and music", "Thank you. You said: Friends and music"]
    assert now.notice == ""


def test_the_script_gets_the_first_replies_again_for_a_repeated_post(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    page = asked(browser, served, page)
    first = post(browser, served, page, json=True, payload="/skip")
    again = post(browser, served, page, json=True, payload="/skip")  # its reply was lost
    assert first.status_code == again.status_code == 200
    assert again.json()["ok"] and again.json()["notice"] == ""
    assert again.json()["entries"] == first.json()["entries"]
    assert [e["text"] for e in again.json()["entries"]] == [
        "Skip this question", "Question 2: what helps you?"]
    assert messages_sent(fake_rasa).count("/skip") == 1


def test_two_identical_posts_at_the_same_time_reach_rasa_once(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    page = asked(browser, served, page)
    fake_rasa.delay = 0.5  # the first post is still with Rasa when the second arrives

    def press_skip(_):
        device = requests.Session()  # same cookie, own connection
        device.cookies.update(browser.cookies)
        return post(device, served, page, payload="/skip").status_code

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(press_skip, range(2)))
    assert statuses == [303, 303]
    assert messages_sent(fake_rasa) == ["/greet", ASK_ME, "/skip"]
    assert reload(browser, served).texts[-1] == "Question 2: what helps you?"


def test_a_post_that_failed_can_be_sent_again_with_the_same_id(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    fake_rasa.failures = 1
    resting = post(browser, served, page, text="My answer")
    assert resting.status_code == 503 and read_page(resting.text).notice == words["resting"]
    assert read_page(resting.text).hidden["message_id"] == page.hidden["message_id"]
    retried = post(browser, served, page, text="My answer")
    assert retried.status_code == 303
    assert messages_sent(fake_rasa) == ["/greet", "My answer", "My answer"]
    assert reload(browser, served).texts[-1] == "Thank you. You said: My answer"


def test_new_words_from_an_old_page_are_kept_with_a_new_id(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, old_page = visit(served)
    assert post(browser, served, old_page, text="First answer").status_code == 303
    # The browser's Back button shows the old page, with its old message id.
    assert post(browser, served, old_page, text="Second answer").status_code == 303
    assert messages_sent(fake_rasa) == ["/greet", "First answer", "Second answer"]
    ids = [body["metadata"]["message_id"] for body in fake_rasa.received[1:]]
    assert ids[0] == old_page.hidden["message_id"] and ids[1] != ids[0]


def test_each_session_remembers_only_its_recent_message_ids():
    transcript = Transcript(max_entries=400)
    ids = [f"{number:032x}" for number in range(MAX_MESSAGE_IDS + 10)]
    for message_id in ids:
        transcript.add_exchange("Hello", [{"text": "Thank you."}])
        transcript.remember_sent(message_id, "Hello")
    assert transcript.repeat_of(ids[0], "Hello") is None  # the oldest ids are let go
    assert not transcript.id_was_sent(ids[0])
    assert [e.text for e in transcript.repeat_of(ids[-1], "Hello")] == ["Hello", "Thank you."]
    assert transcript.repeat_of(ids[-1], "Goodbye") is None
    assert sum(transcript.id_was_sent(message_id) for message_id in ids) == MAX_MESSAGE_IDS


def test_an_empty_message_gets_a_kind_notice_and_is_not_sent(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert "did not get any words" in words["no_words"]
    for empty in ("", "   ", " \n\t "):
        response = post(browser, served, page, text=empty)
        assert response.status_code == 400
        refused = read_page(response.text)
        assert refused.notice == words["no_words"]
        assert '<div id="notice" class="notice" role="alert"><p id="notice-text">' in response.text
        assert 'aria-describedby="message-hint notice" aria-invalid="true"' in response.text
        assert refused.hidden["message_id"] == page.hidden["message_id"]
        assert refused.texts == page.texts  # the conversation is still there
    reply = post(browser, served, page, json=True, text=" ").json()
    assert reply == {**reply, "ok": False, "notice": words["no_words"], "entries": [],
                     "message_id": page.hidden["message_id"]}
    assert messages_sent(fake_rasa) == ["/greet"]
    assert post(browser, served, page, text="Now some words").status_code == 303
    assert reload(browser, served).notice == ""


def test_a_button_from_an_earlier_exchange_is_refused_and_the_chat_shown(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    old_tab = asked(browser, served, page)
    new_tab = reload(browser, served)  # the same device, a second tab
    assert post(browser, served, new_tab, payload="/skip").status_code == 303
    sent = messages_sent(fake_rasa)
    # The first tab still shows Skip for question 1: that press is not sent to Rasa.
    refused = post(browser, served, old_tab, payload="/skip")
    assert refused.status_code == 409
    shown = read_page(refused.text)
    assert shown.notice == "That button was for an earlier message. Here is the chat as it is now."
    assert shown.texts[-1] == "Question 2: what helps you?"
    as_json = post(browser, served, old_tab, json=True, payload="/skip", message_id="b" * 32)
    assert as_json.status_code == 409 and as_json.json()["stale"] is True
    assert messages_sent(fake_rasa) == sent
    # The script then loads the page, which says why it changed.
    assert read_page(browser.get(served.url + "/?old=1").text).notice == shown.notice
    # The newest buttons carry the newest exchange and work.
    assert post(browser, served, reload(browser, served), payload="/skip").status_code == 303
    assert messages_sent(fake_rasa) == sent + ["/skip"]


def test_a_button_on_a_page_from_before_a_restart_still_works(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    page = asked(browser, served, page)
    response = post(browser, served, page, payload="/skip", turn="0ldpage0:7")  # another run's page
    assert response.status_code == 303 and messages_sent(fake_rasa)[-1] == "/skip"


def test_words_typed_on_a_page_the_chat_moved_on_from_are_kept_not_sent(fake_rasa, serve_web,
                                                                        words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    old_tab = asked(browser, served, page)
    new_tab = reload(browser, served)  # the same device, a second tab moves on
    assert post(browser, served, new_tab, payload="/skip").status_code == 303
    sent = messages_sent(fake_rasa)
    # The first tab still shows question 1: its answer would go to question 2, unseen.
    kept = post(browser, served, old_tab, text="My answer to one", turn=old_tab.hidden["turn"])
    assert kept.status_code == 409
    shown = read_page(kept.text)
    assert shown.notice == words["chat_moved"] and shown.textarea == "My answer to one"
    assert shown.texts[-1] == "Question 2: what helps you?"
    assert messages_sent(fake_rasa) == sent
    as_json = post(browser, served, old_tab, json=True, text="My answer to one",
                   turn=old_tab.hidden["turn"]).json()
    assert as_json["ok"] is False and as_json["notice"] == words["chat_moved"]
    assert as_json["notice_audio"] == "/audio/words/chat_moved.mp3"
    assert [entry["text"] for entry in as_json["entries"]] == [  # what the page missed
        "Skip this question", "Question 2: what helps you?"]
    assert as_json["entries"][-1]["choices"] and as_json["turn"] == shown.hidden["turn"]
    assert messages_sent(fake_rasa) == sent
    # With the page as it is now, the same words go through.
    assert post(browser, served, shown, text="My answer to one",
                turn=shown.hidden["turn"]).status_code == 303
    assert messages_sent(fake_rasa) == sent + ["My answer to one"]


def test_a_reply_with_half_a_character_pair_still_gets_a_listen_address():
    """Rasa's JSON can carry a lone surrogate ("\\ud800"): the address is made all the same."""
    transcript = Transcript(max_entries=10, sound_salt="sender-1")
    entries = transcript.add_exchange("hi", [{"text": "You said: job \ud800 money"}])
    assert len(entries[1].sound) == 16 and transcript.spoken_entry(entries[1].sound) is entries[1]
