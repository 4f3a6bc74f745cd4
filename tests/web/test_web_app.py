"""The web chat over real HTTP, without a browser: headers, sessions, the form flow, limits,
CSRF, escaping, audio and a resting Rasa. Rasa is a fake at the network edge."""
from __future__ import annotations

import re

import pytest
import requests

from bot.identity import Pseudonymizer
from bot.web.security import SESSION_COOKIE
from web_pages import read_page
from web_support import JSON, MY_DATA, FakeSpeech, post, visit


def test_every_response_has_the_security_headers(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    for path in ("/", "/static/chat.css", "/static/chat.js", "/audio/0123456789abcdef.mp3",
                 "/nowhere"):
        headers = requests.get(served.url + path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_the_page_has_no_inline_script_or_style(fake_rasa, serve_web):
    _, page = visit(serve_web(fake_rasa.url))
    assert page.inline_scripts == 0
    for tag, attributes in page.tags:
        assert "style" not in attributes, tag
        assert not [name for name in attributes if name.startswith("on")], tag
    assert ("style", {}) not in page.tags


def test_a_new_device_gets_a_random_httponly_lax_session(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    first = requests.get(served.url + "/")
    second = requests.get(served.url + "/")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    tokens = [r.cookies[SESSION_COOKIE] for r in (first, second)]
    assert tokens[0] != tokens[1] and len(tokens[0]) >= 43
    # Rasa sees a keyed hash of the token, never the token itself.
    senders = [body["sender"] for body in fake_rasa.received]
    expected = Pseudonymizer(b"test-key").pseudonym(tokens[0], channel="web")
    assert senders[0] == expected and tokens[0] not in senders


def test_without_javascript_a_button_and_typed_words_go_through_forms(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert page.texts == ["Hello! Do you want to take part?"]
    assert page.choices == [("/affirm", "Yes"), ("/deny", "No")]

    pressed = post(browser, served, page, payload="/affirm")
    assert pressed.status_code == 303 and pressed.headers["Location"] == "/#latest"
    page = read_page(browser.get(served.url + "/").text)
    assert page.texts[-2:] == ["Yes", "You pressed /affirm."]
    assert page.choices == []  # old buttons go once they are answered

    typed = post(browser, served, page, text="  Friends and a job  ")
    assert typed.status_code == 303
    page = read_page(browser.get(served.url + "/").text)
    assert page.texts[-2:] == ["Friends and a job", "Thank you. You said: Friends and a job"]

    bodies = fake_rasa.received
    assert [body["message"] for body in bodies] == ["/greet", "/affirm", "Friends and a job"]
    assert {body["input_channel"] for body in bodies} == {"web"}
    assert len({body["sender"] for body in bodies}) == 1
    assert all(re.fullmatch(r"[0-9a-f]{32}", body["metadata"]["message_id"]) for body in bodies[1:])


def test_the_transcript_comes_back_on_reload_without_asking_rasa_again(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    post(browser, served, page, text="Hello there")
    before = read_page(browser.get(served.url + "/").text)
    again = read_page(browser.get(served.url + "/").text)
    assert again.texts == before.texts and len(before.texts) == 3
    assert [body["message"] for body in fake_rasa.received] == ["/greet", "Hello there"]


def test_markup_in_you_said_is_shown_as_words(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    post(browser, served, page, text=attack)
    html = browser.get(served.url + "/").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    page = read_page(html)
    assert page.texts[-1] == "Thank you. You said: " + attack
    # The JSON for the script carries the same words as data, for textContent.
    reply = post(browser, served, page, json=True, text="<b>bold</b>").json()
    assert reply["entries"][-1]["text"] == "Thank you. You said: <b>bold</b>"


def test_the_script_gets_json_with_new_messages_and_a_fresh_message_id(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    response = browser.post(served.url + "/send", headers={**JSON, "X-CSRF-Token": page.hidden["csrf"]},
                            data={"payload": "/affirm", "message_id": page.hidden["message_id"]})
    reply = response.json()
    assert response.status_code == 200 and reply["ok"] and reply["notice"] == ""
    assert [(e["speaker"], e["text"]) for e in reply["entries"]] == [
        ("you", "Yes"), ("helper", "You pressed /affirm.")]
    assert re.fullmatch(r"/audio/[0-9a-f]{16}\.mp3", reply["entries"][1]["audio"])
    assert reply["message_id"] != page.hidden["message_id"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_message_over_2000_characters_is_refused_and_kept(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    long_text = "word " * 400 + "x"
    response = post(browser, served, page, text=long_text)
    assert response.status_code == 413
    refused = read_page(response.text)
    assert refused.notice == words["too_long"]
    assert refused.textarea == long_text.strip()
    assert 'aria-invalid="true"' in response.text
    assert post(browser, served, page, text="é" * 2000).status_code == 303
    assert [body["message"][:1] for body in fake_rasa.received] == ["/", "é"]


def test_the_hint_under_the_box_says_how_much_can_be_written(fake_rasa, serve_web, words):
    from bot.web.state import MAX_MESSAGE_CHARS

    assert f"{MAX_MESSAGE_CHARS:,}" in words["message_hint"]  # "up to 2,000 letters"
    html = requests.get(serve_web(fake_rasa.url).url + "/").text
    assert f'<p id="message-hint" class="hint">{words["message_hint"]}</p>' in html
    [box] = [attributes for tag, attributes in read_page(html).tags if tag == "textarea"]
    assert box["aria-describedby"] == "message-hint"  # read with the box, before typing


def test_a_request_body_over_the_limit_is_refused_kindly(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    response = post(browser, served, page, json=True, text="x" * 70_000)
    assert response.status_code == 413
    assert response.json()["notice"] == words["too_long"]
    assert len(fake_rasa.received) == 1


def test_posts_without_the_session_form_token_are_refused(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    wrong = browser.post(served.url + "/send", allow_redirects=False,
                         data={"csrf": "0" * 32, "text": "Hello"})
    assert wrong.status_code == 403 and read_page(wrong.text).notice == words["send_failed"]
    assert read_page(wrong.text).textarea == "Hello"  # their words are not lost
    missing = browser.post(served.url + "/send", data={"text": "Hello"}, allow_redirects=False)
    assert missing.status_code == 403
    stranger = requests.post(served.url + "/send", allow_redirects=False,
                             data={"csrf": page.hidden["csrf"], "text": "Hello"})
    assert stranger.status_code == 403  # another device cannot reuse this page's token
    other_site = post(browser, served, page, text="Hello",
                      headers={"Origin": "http://evil.example"})
    assert other_site.status_code == 403
    looks = browser.post(served.url + "/preferences", data={"toggle": "large"},
                         allow_redirects=False)
    assert looks.status_code == 403
    assert [body["message"] for body in fake_rasa.received] == ["/greet"]


def test_a_button_that_was_never_offered_is_refused(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    response = post(browser, served, page, payload="/stop_everything")
    assert response.status_code == 400 and read_page(response.text).notice == words["send_failed"]
    assert len(fake_rasa.received) == 1


CONTROLS = [("/help", "help"), ("/repeat", "say_again"), ("/stop", "stop_for_now"),
            ("/start_again", "start_again"), ("/sound_on", "sound_on"),
            ("/sound_off", "sound_off")]


def test_the_page_always_has_help_repeat_stop_start_again_and_sound_buttons(fake_rasa, serve_web,
                                                                          words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert page.controls == [(payload, words[field]) for payload, field in CONTROLS]
    [form] = [f for f in page.forms if f["attributes"].get("id") == "controls"]
    assert form["attributes"]["action"] == "/send" and form["attributes"]["method"] == "post"
    # A plain form, as the buttons' own: the session's token and a message id, but no turn.
    assert form["hidden"] == {"csrf": page.hidden["csrf"], "message_id": page.hidden["message_id"]}
    # Still there once the buttons of a message are answered and gone.
    post(browser, served, page, payload="/affirm")
    later = read_page(browser.get(served.url + "/").text)
    assert later.choices == [] and later.controls == page.controls


def controls_form(page, control):
    """What the page's own form posts for one of its buttons (never a turn)."""
    [form] = [f for f in page.forms if f["attributes"].get("id") == "controls"]
    return {**form["hidden"], "control": control}


def test_the_pages_own_buttons_post_without_javascript_at_any_step(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, old_tab = visit(served)
    post(browser, served, old_tab, payload="/affirm")  # the chat moved on: old_tab is behind
    for payload, field in CONTROLS:
        page = read_page(browser.get(served.url + "/").text)
        pressed = browser.post(served.url + "/send", data=controls_form(page, payload),
                               allow_redirects=False)
        assert pressed.status_code == 303 and pressed.headers["Location"] == "/#latest"
        page = read_page(browser.get(served.url + "/").text)
        assert page.texts[-2:] == [words[field], f"You pressed {payload}."]
    # One pressed on a page from an earlier exchange works too: it is good at every step.
    pressed = browser.post(served.url + "/send", data=controls_form(old_tab, "/help"),
                           allow_redirects=False)
    assert pressed.status_code == 303
    sent = [body["message"] for body in fake_rasa.received]
    assert sent == ["/greet", "/affirm"] + [payload for payload, _ in CONTROLS] + ["/help"]


def test_the_pages_own_buttons_answer_the_script_with_json(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    response = browser.post(served.url + "/send", data=controls_form(page, "/repeat"),
                            headers={**JSON, "X-CSRF-Token": page.hidden["csrf"]})
    reply = response.json()
    assert response.status_code == 200 and reply["ok"]
    assert [(e["speaker"], e["text"]) for e in reply["entries"]] == [
        ("you", words["say_again"]), ("helper", "You pressed /repeat.")]


def test_a_control_the_page_does_not_have_is_refused(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    response = browser.post(served.url + "/send", data=controls_form(page, "/delete_my_data"),
                            allow_redirects=False)
    assert response.status_code == 400 and read_page(response.text).notice == words["send_failed"]
    assert [body["message"] for body in fake_rasa.received] == ["/greet"]


def test_when_rasa_rests_the_page_says_so_and_keeps_the_words(closed_url, serve_web, words):
    served = serve_web(closed_url)
    browser, page = visit(served)
    assert page.notice == words["resting"] and page.texts == []
    response = post(browser, served, page, text="My answer <3")
    assert response.status_code == 503
    resting = read_page(response.text)
    assert resting.notice == words["resting"]
    assert resting.textarea == "My answer <3"
    assert resting.hidden["message_id"] == page.hidden["message_id"]  # a retry is stored once
    assert 'role="alert"' in response.text
    reply = post(browser, served, page, json=True, text="My answer").json()
    assert reply == {**reply, "ok": False, "notice": words["resting"], "entries": [],
                     "message_id": page.hidden["message_id"]}


def test_a_notice_can_be_heard_like_every_message(closed_url, serve_web, tmp_path, words):
    speech = FakeSpeech(tmp_path)
    served = serve_web(closed_url, speech=speech)
    browser, page = visit(served)
    assert page.notice == words["resting"]
    [listen] = page.listen_links  # no message yet: the one Listen is the notice's
    clip = browser.get(served.url + listen)
    assert clip.status_code == 200 and clip.headers["Content-Type"] == "audio/mpeg"
    assert speech.read[-1] == words["resting"]
    link = next(attributes for tag, attributes in page.tags
                if tag == "a" and attributes.get("href") == listen)
    assert link["aria-describedby"] == "notice-text"
    reply = post(browser, served, page, json=True, text="My answer").json()
    assert browser.get(served.url + reply["notice_audio"]).status_code == 200
    empty = post(browser, served, page, json=True, text="   ").json()
    assert empty["notice"] == words["no_words"]
    browser.get(served.url + empty["notice_audio"])
    assert speech.read[-1] == words["no_words"]
    for field in ("send_failed", "too_long", "old_button"):  # the script shows these itself
        assert browser.get(f"{served.url}/audio/words/{field}.mp3").status_code == 200
        assert speech.read[-1] == words[field]
    assert browser.get(served.url + "/audio/words/help.mp3").status_code == 404


def test_listen_serves_this_pages_messages_as_mp3_only(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert len(page.listen_links) == 1
    clip = browser.get(served.url + page.listen_links[0])
    assert clip.status_code == 200 and clip.headers["Content-Type"] == "audio/mpeg"
    assert clip.content.startswith(b"ID3")
    assert requests.get(served.url + page.listen_links[0]).status_code == 404
    assert browser.get(served.url + "/audio/0123456789abcdef.mp3").status_code == 404


def test_listen_says_kindly_when_no_voice_works(fake_rasa, serve_web, tmp_path, words):
    served = serve_web(fake_rasa.url, speech=FakeSpeech(tmp_path, works=False))
    browser, page = visit(served)
    clip = browser.get(served.url + page.listen_links[0])
    assert clip.status_code == 503 and clip.text == words["audio_failed"]


def test_page_looks_switch_without_javascript_and_are_remembered(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert '<html lang="en" class="">' in browser.get(served.url + "/").text
    response = browser.post(served.url + "/preferences", allow_redirects=False,
                            data={"csrf": page.hidden["csrf"], "toggle": "large"})
    assert response.status_code == 303
    assert browser.cookies["coproduce_looks"] == "large"
    browser.post(served.url + "/preferences", data={"csrf": page.hidden["csrf"], "toggle": "contrast"})
    html = browser.get(served.url + "/").text
    assert '<html lang="en" class="contrast large">' in html
    assert re.search(r'value="large" aria-pressed="true"', html)
    browser.post(served.url + "/preferences", data={"csrf": page.hidden["csrf"], "toggle": "large"})
    assert '<html lang="en" class="contrast">' in browser.get(served.url + "/").text


@pytest.mark.parametrize("missing", ["utter_web_send_failed"])
def test_the_app_names_missing_words(tmp_path, missing, domain_path):
    import yaml

    from bot.web.words import MissingWords, load_page_words

    data = yaml.safe_load(domain_path.read_text())
    del data["responses"][missing]
    broken = tmp_path / "domain.yml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(MissingWords, match=missing):
        load_page_words(broken)


def test_my_data_is_a_download_link_for_this_session_only(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    browser, page = visit(served)
    assert post(browser, served, page, text=MY_DATA).status_code == 303
    html = browser.get(served.url + "/").text
    page = read_page(html)
    assert page.texts[-1] == "Here is all we keep about you, in a file."
    [link] = page.file_links  # a plain link under the words that offer it: no script needed
    assert link["text"] == words["save_file"] and link["download"] == "coproduce-my-data.json"
    assert re.fullmatch(r"/files/[0-9a-f]{32}", link["href"])
    offer = re.search(r'<p class="text" id="(t-[0-9a-f]+)">Here is all', html).group(1)
    assert link["aria-describedby"] == offer

    saved = browser.get(served.url + link["href"])
    assert saved.status_code == 200
    assert saved.headers["Content-Type"] == "application/json"
    assert saved.headers["Content-Disposition"] == 'attachment; filename="coproduce-my-data.json"'
    assert saved.headers["Cache-Control"] == "no-store"
    sender = fake_rasa.received[-1]["sender"]
    assert saved.json() == {"participant": {"sender": sender}, "answers": [{"text": "Café ❤"}]}

    other, _ = visit(served)  # another device with its own session
    for stranger in (other, requests.Session()):
        refused = stranger.get(served.url + link["href"])
        assert refused.status_code == 404 and refused.text == words["file_gone"]
        assert "Café" not in refused.text
    guessed = browser.get(served.url + "/files/" + "0" * 32)
    assert guessed.status_code == 404

    # The page's script gets the same link in its JSON.
    reply = post(browser, served, read_page(browser.get(served.url + "/").text), json=True,
                 text=MY_DATA).json()
    file = reply["entries"][-1]["file"]
    assert file["filename"] == "coproduce-my-data.json" and file["url"] != link["href"]
    assert browser.get(served.url + file["url"]).json()["participant"]["sender"] == sender


def test_an_address_or_method_the_chat_does_not_have_gets_a_page_in_plain_words(
        fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    for method, path, status in (("GET", "/nowhere", 404), ("GET", "/static/nothing.css", 404),
                                 ("POST", "/", 405), ("DELETE", "/send", 405)):
        response = requests.request(method, served.url + path)
        assert response.status_code == status, path
        assert response.headers["Content-Type"].startswith("text/html")
        assert words["not_here"] in response.text and words["back_to_chat"] in response.text
        assert 'href="/"' in response.text and '<html lang="en">' in response.text
        assert "Not Found" not in response.text and "Method Not Allowed" not in response.text
        if status == 405:  # and which methods the address takes
            assert response.headers["Allow"] == ("POST" if path == "/send" else "GET,HEAD")
    # An audio clip or a file that has gone keeps its own words.
    gone = requests.get(served.url + "/audio/0123456789abcdef.mp3")
    assert gone.status_code == 404 and gone.text == words["audio_failed"]
