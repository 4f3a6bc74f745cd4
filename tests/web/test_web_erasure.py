"""After "Delete my answers" and Yes, the web chat shows, plays and hands over nothing of what
came before: Rasa's reply carries `custom.erased` (action_delete_my_data), and the page keeps
only the replies from then on. Rasa is a fake at the network edge."""
from __future__ import annotations

import pytest
import requests

from bot.web.state import CHAT
from web_pages import read_page
from web_support import (DELETE, DELETE_YES, DELETED, HELD, MY_DATA, espeak_speech, post,
                         visit)

ANSWER = "Friends <and> a job at Zebrafinch"


def reload(browser, served):
    """The chat page as the person sees it now."""
    return read_page(browser.get(served.url + "/").text)


def before_erasure(browser, served, page):
    """A conversation with the participant's words, their audio and their record as a file."""
    assert post(browser, served, page, text=ANSWER).status_code == 303
    assert post(browser, served, reload(browser, served), text=MY_DATA).status_code == 303
    page = reload(browser, served)
    assert f"Thank you. You said: {ANSWER}" in page.texts and len(page.file_links) == 1
    for link in page.listen_links + [page.file_links[0]["href"]]:
        assert browser.get(served.url + link).status_code == 200, link
    return page


def ask_to_delete(browser, served):
    """Say "delete my answers"; return the page with the Yes and No buttons."""
    assert post(browser, served, reload(browser, served), text=DELETE).status_code == 303
    page = reload(browser, served)
    assert DELETE_YES in page.choices
    return page


def test_after_an_erasure_the_page_shows_only_the_deleted_message(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    before = before_erasure(browser, served, page)
    asked = ask_to_delete(browser, served)

    assert post(browser, served, asked, payload=DELETE_YES[0]).status_code == 303
    html = browser.get(served.url + "/").text
    after = read_page(html)
    assert after.texts == [DELETED] and after.speakers == ["Chat helper"]
    assert after.file_links == [] and after.choices == []
    for earlier in ("Zebrafinch", "You said", MY_DATA, DELETE, DELETE_YES[1], "erased"):
        assert earlier not in html, earlier

    # Nothing from before is heard or handed over any more; the new message still is.
    for link in before.listen_links + [before.file_links[0]["href"]]:
        assert browser.get(served.url + link).status_code == 404, link
    [listen] = after.listen_links
    assert browser.get(served.url + listen).status_code == 200

    # The words are gone from the web chat's memory too, not just from the page.
    chat = served.app[CHAT]
    sender = fake_rasa.received[-1]["sender"]
    transcript = chat.transcripts.find(sender)
    assert [entry.text for entry in transcript.entries] == [DELETED]
    assert "Zebrafinch" not in repr(vars(transcript))


def test_the_script_is_told_to_replace_the_messages(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    before = before_erasure(browser, served, page)
    typed = post(browser, served, ask_to_delete(browser, served), json=True, text="hello").json()
    assert typed["erased"] is False  # an ordinary reply adds to the page
    reply = post(browser, served, reload(browser, served), json=True,
                 payload=DELETE_YES[0]).json()
    assert reply["ok"] and reply["erased"] is True
    assert [(e["speaker"], e["text"]) for e in reply["entries"]] == [("helper", DELETED)]
    assert "custom" not in str(reply) and "Zebrafinch" not in str(reply)
    for link in before.listen_links:
        assert browser.get(served.url + link).status_code == 404


def test_held_answers_are_kept_for_the_lead_but_the_chat_is_still_cleared(fake_rasa, serve_web):
    fake_rasa.held = True
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    before_erasure(browser, served, page)
    assert post(browser, served, ask_to_delete(browser, served),
                payload=DELETE_YES[0]).status_code == 303
    assert reload(browser, served).texts == [HELD, DELETED]


def test_a_form_from_before_the_erasure_is_not_sent_again(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert post(browser, served, page, text=ANSWER).status_code == 303
    old_form = reload(browser, served)  # as the Back button shows it again later
    assert post(browser, served, old_form, text=MY_DATA).status_code == 303
    again = post(browser, served, ask_to_delete(browser, served), payload=DELETE_YES[0])
    assert again.status_code == 303
    sent = len(fake_rasa.received)
    resent = post(browser, served, old_form, text=MY_DATA)
    assert resent.status_code == 303 and len(fake_rasa.received) == sent
    assert reload(browser, served).texts == [DELETED]

    # New words typed afterwards go to Rasa and are shown after the deleted message.
    assert post(browser, served, reload(browser, served), text="hello again").status_code == 303
    assert reload(browser, served).texts == [
        DELETED, "hello again", "Thank you. You said: hello again"]


def test_another_participant_s_chat_is_untouched(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    other, other_page = visit(served)
    assert post(other, served, other_page, text="Quiet places").status_code == 303
    browser, page = visit(served)
    before_erasure(browser, served, page)
    post(browser, served, ask_to_delete(browser, served), payload=DELETE_YES[0])
    assert "Thank you. You said: Quiet places" in reload(other, served).texts


def test_audio_with_the_participant_s_words_is_not_kept_and_goes_with_the_erasure(
        fake_rasa, serve_web, tmp_path):
    from tests.conftest import make_settings
    from bot.speech.engines import EngineUnavailable, EspeakEngine

    try:
        EspeakEngine().render("test", "en")
    except EngineUnavailable as why:
        pytest.skip(f"espeak-ng cannot read aloud here: {why}")
    speech = espeak_speech(make_settings(tmp_path))
    served = serve_web(fake_rasa.url, speech=speech)
    browser, page = visit(served)
    hello = browser.get(served.url + page.listen_links[0])
    assert hello.status_code == 200 and hello.headers["Cache-Control"] == "private, max-age=86400"
    before = before_erasure(browser, served, page)
    said = browser.get(served.url + before.listen_links[1])  # "Thank you. You said: ..."
    assert said.status_code == 200 and said.headers["Cache-Control"] == "no-store"
    sender = fake_rasa.received[-1]["sender"]
    folder = speech.cache.owner_folder(speech.owner_of(sender))
    assert any(folder.glob("*.mp3"))

    post(browser, served, ask_to_delete(browser, served), payload=DELETE_YES[0])
    served.app[CHAT].speech_pool.submit(lambda: None).result(timeout=60)  # queued jobs done
    assert not folder.exists()
    assert browser.get(served.url + before.listen_links[1]).status_code == 404
    assert requests.get(served.url + before.listen_links[1]).status_code == 404


@pytest.mark.servers
def test_through_the_real_assistant_an_erasure_clears_the_web_chat(rasa_servers, tmp_path,
                                                                   domain_path):
    import time

    from bot.app import build_services
    from bot.data_rights import ERASE_AGAIN_AFTER
    from bot.web import build_web_app
    from bot.web.security import SESSION_COOKIE, sender_for
    from bot.wording import response_text
    from web_support import FakeSpeech, ServedApp

    settings = rasa_servers.settings
    deleted = response_text(domain_path, "utter_deleted")
    marker = "Zebrafinch" + tmp_path.name[-6:]
    services = build_services(settings)
    running = []

    def start():
        running.append(ServedApp(build_web_app(settings, services, FakeSpeech(tmp_path),
                                               domain_path=domain_path)).start())
        return running[-1]

    def press(served, payload):
        page = reload(browser, served)
        assert payload in [offered for offered, _ in page.choices], (payload, page.texts)
        assert post(browser, served, page, payload=payload).status_code == 303
        return reload(browser, served)

    try:
        served = start()
        browser, page = visit(served)
        for payload in ("/sound_off", "/affirm", "/role_self"):
            press(served, payload)
        assert post(browser, served, reload(browser, served),
                    text=f"{marker} club on Mondays").status_code == 303
        before = reload(browser, served)
        assert f"{marker} club on Mondays" in before.texts, before.texts
        assert post(browser, served, before, text="Delete my answers").status_code == 303
        assert ("/affirm", "Yes, delete them") in reload(browser, served).choices
        after = press(served, "/affirm")
        assert after.texts == [deleted]
        assert marker not in browser.get(served.url + "/").text
        for link in before.listen_links:
            assert browser.get(served.url + link).status_code == 404

        # A restart once the erasure ran again: read back finds nothing of the conversation.
        time.sleep(ERASE_AGAIN_AFTER[-1] + 1)
        running.pop().stop()
        restarted = start()
        sender = sender_for(restarted.app[CHAT].pseudonymizer, browser.cookies[SESSION_COOKIE])
        assert restarted.app[CHAT].history.messages(sender, limit=100) == []
        html = browser.get(restarted.url + "/").text
        assert marker not in html and deleted not in html
    finally:
        for served in running:
            served.stop()
        services.engine.dispose()
