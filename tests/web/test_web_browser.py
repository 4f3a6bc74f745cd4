"""The web chat in headless Chromium against the real Rasa and action servers: a whole
conversation by mouse and typing, saving one's own record, listening, reloading, keyboard
alone, 320 px, errors, no JavaScript; axe-core finds no serious or critical problem in any
state."""
from __future__ import annotations

import dataclasses
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.app import build_services
from bot.web import build_web_app
from tests.conftest import make_settings
from web_driving import Browser, missing_tools
from web_support import ServedApp, espeak_speech

pytestmark = pytest.mark.servers

QUESTION_1 = "What makes a good life for you?"
QUESTION_2 = "What helps you to have a good life?"
QUESTION_3 = "What gets in the way?"
SOUND_ON = "Yes, read them out"


@pytest.fixture(scope="module", autouse=True)
def browser_tools():
    """Fail with the fix when Chromium, its driver or axe-core is missing."""
    missing = missing_tools()
    if missing:
        pytest.fail(f"Missing {', '.join(missing)}: run scripts/install-browser.sh")


@pytest.fixture(scope="module")
def live_web(rasa_servers, tmp_path_factory, domain_path):
    """The web chat on a free port, talking to the real Rasa, with espeak-ng as its voice."""
    audio = tmp_path_factory.mktemp("web-audio")
    settings = dataclasses.replace(rasa_servers.settings, audio_dir=audio, tts="espeak")
    app = build_web_app(settings, build_services(settings), espeak_speech(settings),
                        domain_path=domain_path)
    served = ServedApp(app).start()
    yield served
    served.stop()


@pytest.fixture
def browser(live_web):
    """A new device (empty profile) with JavaScript on."""
    device = Browser(live_web.url)
    yield device
    device.close()


def start_talking(browser: Browser) -> None:
    """Open the chat and answer the opening sound question, if the dialogue asks it."""
    browser.open()
    if SOUND_ON in browser.choices():
        browser.press(SOUND_ON)
    browser.wait_for_choice("Tell me more")


def assert_accessible(browser: Browser, state: str) -> None:
    """axe-core finds nothing serious or critical, and a screenshot of the state is kept."""
    browser.screenshot(state)
    assert browser.axe(state) == [], state


def test_a_participant_takes_part_by_clicking_and_typing_and_carries_on_after_reload(browser,
                                                                                     words):
    browser.open()
    assert browser.texts()[0].startswith("Hello!")
    log = browser.driver.find_element(By.ID, "log")
    assert (log.get_attribute("role"), log.get_attribute("aria-live")) == ("log", "polite")
    assert_accessible(browser, "01-start")
    start_talking(browser)
    assert any(text.startswith("I am a chat helper.") for text in browser.texts())
    assert browser.choices() == ["Yes", "No", "Tell me more"]

    browser.press("Yes")
    browser.wait_for_choice("For myself")
    assert browser.texts()[-2] == "Yes"  # what they pressed shows as their message
    browser.press("For myself")
    browser.wait_for_message(QUESTION_1)
    assert_accessible(browser, "02-after-buttons")

    browser.say('<b>Friends</b> & my dog "Rex"')
    browser.wait_for_message("You said:")
    assert browser.texts()[-3:-1] == ['<b>Friends</b> & my dog "Rex"',
                                      'Thank you. You said: <b>Friends</b> & my dog "Rex"']
    assert not browser.driver.find_elements(By.CSS_SELECTOR, "#messages b")
    browser.confirm_themes_if_asked()
    browser.press("No")
    browser.wait_for_message(QUESTION_2)
    before = browser.texts()

    browser.driver.refresh()  # close and come back on the same device
    browser.wait_for_choice("Skip this question")
    assert browser.texts() == before
    browser.press("Skip this question")
    browser.wait_for_message(QUESTION_3)
    browser.say("Long waits for the bus", press_enter=False)
    browser.wait_for_message("You said: Long waits for the bus")
    browser.confirm_themes_if_asked()
    browser.press("No")
    browser.wait_for_message("Thank you for your answers.")
    assert_accessible(browser, "03-finished")

    browser.say("What do you know about me?")  # their record comes as a file to save
    browser.wait_for_message("in a file")
    check_my_data_link(browser, "03b-my-data-file", words)
    browser.driver.refresh()  # the server draws the same link, for a page without the script
    browser.wait_for_message("in a file")
    check_my_data_link(browser, "03c-my-data-file-reloaded", words)


def check_my_data_link(browser: Browser, state: str, words: dict) -> None:
    """The record is a real download link, large and accessible, that gives this session's JSON."""
    [link] = browser.driver.find_elements(By.CSS_SELECTOR, "#messages a.file")
    assert link.text == words["save_file"]
    assert link.get_attribute("download") == "coproduce-my-data.json"
    offer = browser.driver.find_element(By.ID, link.get_attribute("aria-describedby"))
    assert offer.text == "Here is all we keep about you, in a file."
    assert browser.small_targets() == []
    assert_accessible(browser, state)
    saved = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0].href).then(r => r.json().then(body => done("
        "{status: r.status, type: r.headers.get('Content-Type'), body: body})));", link)
    assert saved["status"] == 200 and saved["type"] == "application/json"
    assert '<b>Friends</b> & my dog "Rex"' in [a["text"] for a in saved["body"]["answers"]]


def test_listen_plays_the_message_from_an_mp3_the_app_serves(browser):
    browser.open()
    listen = browser.driver.find_elements(By.CSS_SELECTOR, "#messages .listen")
    first_text = browser.driver.find_element(By.CSS_SELECTOR, "#messages .text")
    assert len(listen) == len(browser.texts())
    assert listen[0].tag_name == "button" and listen[0].text == "Listen"
    assert listen[0].get_attribute("aria-describedby") == first_text.get_attribute("id")
    assert not browser.driver.find_elements(By.TAG_NAME, "audio")  # nothing plays by itself

    listen[0].click()
    audio = browser.driver.find_element(By.CSS_SELECTOR, "#messages audio")
    clip = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0].src).then(r => r.arrayBuffer().then(b => done("
        "{status: r.status, type: r.headers.get('Content-Type'), size: b.byteLength})));", audio)
    assert clip["status"] == 200 and clip["type"] == "audio/mpeg" and clip["size"] > 1000
    browser.wait.until(lambda d: d.execute_script(
        "const a = arguments[0]; return a.currentTime > 0 || a.ended;", audio),
        message="the clip did not play")
    assert browser.driver.execute_script("return arguments[0].error", audio) is None
    assert browser.notice() == ""


def test_keyboard_alone_with_focus_always_visible(browser):
    browser.open()
    keys = browser.driver.switch_to

    def tab_to(label: str, limit: int = 40) -> None:
        for _ in range(limit):
            keys.active_element.send_keys(Keys.TAB)
            assert browser.focus_is_visible(), keys.active_element.get_attribute("outerHTML")
            if (keys.active_element.text or keys.active_element.get_attribute("id")) == label:
                return
        pytest.fail(f"Tab never reached {label!r}")

    tab_to("Bigger text")
    keys.active_element.send_keys(Keys.ENTER)
    assert "large" in browser.driver.find_element(By.TAG_NAME, "html").get_attribute("class")
    assert_accessible(browser, "04-large-text")
    tab_to("Yellow on black")
    keys.active_element.send_keys(Keys.ENTER)
    assert keys.active_element.get_attribute("aria-pressed") == "true"
    assert_accessible(browser, "05-high-contrast")

    tab_to(SOUND_ON)
    keys.active_element.send_keys(Keys.ENTER)
    browser.wait_for_choice("Tell me more")
    browser.wait.until(lambda d: keys.active_element.text == "Yes")  # focus follows
    assert browser.focus_is_visible()  # on screen, though the new messages are long
    keys.active_element.send_keys(Keys.ENTER)
    browser.wait_for_choice("For myself")
    browser.wait.until(lambda d: keys.active_element.text == "For myself")  # focus follows
    assert browser.focus_is_visible()
    keys.active_element.send_keys(Keys.ENTER)
    browser.wait_for_message(QUESTION_1)
    tab_to("message")
    keys.active_element.send_keys("Being with my friends", Keys.ENTER)
    browser.wait_for_message("You said: Being with my friends")
    if any(browser.THEME_CHECK in t for t in browser.texts()[-2:]):
        browser.wait.until(lambda d: keys.active_element.text == "Yes")  # yes, that's right
        keys.active_element.send_keys(Keys.ENTER)
        browser.wait_for_message(browser.ADD_MORE)
    browser.wait.until(lambda d: keys.active_element.text == "Yes")
    tab_to("No")
    keys.active_element.send_keys(Keys.ENTER)
    browser.wait_for_message(QUESTION_2)

    browser.driver.refresh()  # the looks are remembered on this device
    browser.wait_for_choice("Skip this question")
    assert browser.driver.find_element(By.TAG_NAME, "html").get_attribute("class") \
        == "contrast large"


def test_the_first_button_of_a_long_reply_gets_focus_on_screen(browser):
    browser.open()
    keys = browser.driver.switch_to
    browser.wait_for_choice("No, thank you")
    next(e for e in browser.driver.find_elements(By.CSS_SELECTOR, ".choices button")
         if e.text == "No, thank you").send_keys(Keys.ENTER)
    browser.wait.until(lambda d: keys.active_element.text == "Yes")  # "Do you want to take part?"
    assert browser.focus_is_visible(), browser.driver.execute_script(
        "return [document.activeElement.getBoundingClientRect().bottom, innerHeight]")


def test_a_button_left_on_an_older_tab_shows_the_chat_as_it_is_now(browser, words):
    start_talking(browser)
    browser.press("Yes")
    browser.wait_for_choice("For myself")
    first_tab = browser.driver.current_window_handle
    browser.driver.switch_to.new_window("tab")  # the same device: the same chat
    browser.open()
    browser.press("For myself")
    browser.wait_for_message(QUESTION_1)
    browser.driver.switch_to.window(first_tab)  # still asks who the answers are for
    assert "For myself" in browser.choices()
    next(e for e in browser.driver.find_elements(By.CSS_SELECTOR, ".choices button")
         if e.text == "For myself").click()
    browser.wait.until(lambda d: browser.notice() == words["old_button"],
                       message=f"no notice; page has {browser.texts()[-2:]}")
    assert QUESTION_1 in browser.texts()[-1] and "For myself" not in browser.choices()
    assert browser.texts().count("For myself") == 1  # pressed once, in the second tab
    focused = browser.driver.execute_script(
        "return document.activeElement.tagName + ' ' + location.href")
    assert focused.split()[0] in ("BUTTON", "TEXTAREA"), focused
    assert browser.focus_is_visible()


def test_at_320_px_wide_nothing_scrolls_sideways_and_targets_stay_large(browser):
    browser.set_width(320)
    start_talking(browser)
    browser.press("Yes")
    browser.wait_for_choice("For someone I care for")
    assert browser.horizontal_overflow() == 0
    assert browser.small_targets() == []
    assert_accessible(browser, "06-320px")
    browser.driver.find_element(By.CSS_SELECTOR, ".looks button[value='large']").click()
    browser.say("A" * 60 + " https://example.org/a-very-long-address-without-any-spaces-at-all")
    assert browser.horizontal_overflow() == 0
    assert browser.small_targets() == []
    assert_accessible(browser, "07-320px-large-text")


def test_errors_are_announced_in_plain_words_and_the_words_are_kept(browser, words):
    browser.open()
    box = browser.driver.find_element(By.ID, "message")
    box.send_keys(Keys.ENTER)  # nothing typed yet
    assert browser.notice() == words["no_words"]
    assert box.get_attribute("aria-invalid") == "true"
    assert "notice" in box.get_attribute("aria-describedby")
    too_long = "I want to say a lot. " * 100
    browser.driver.execute_script("arguments[0].value = arguments[1]", box, too_long)
    box.send_keys(Keys.ENTER)
    notice = browser.driver.find_element(By.ID, "notice")
    assert notice.get_attribute("role") == "alert"
    assert browser.notice() == words["too_long"]
    assert box.get_attribute("aria-invalid") == "true"
    assert box.get_attribute("value") == too_long
    assert_accessible(browser, "08-error-too-long")
    # The checker itself works: faint words added to the page are caught.
    browser.driver.execute_script(
        "const p = document.createElement('p'); p.textContent = 'Faint words';"
        "p.style.color = '#c0c0c0'; document.querySelector('main').appendChild(p);")
    assert "color-contrast" in [v["id"] for v in browser.axe("checker-catches-faint-words")]


def test_when_rasa_rests_the_browser_shows_a_kind_message_and_keeps_the_text(
        tmp_path, closed_url, domain_path, words):
    settings = make_settings(tmp_path, rasa_url=closed_url, tts="espeak")
    served = ServedApp(build_web_app(settings, build_services(settings), espeak_speech(settings),
                                     domain_path=domain_path)).start()
    device = Browser(served.url)
    try:
        device.open()
        assert device.notice() == words["resting"]
        box = device.driver.find_element(By.ID, "message")
        box.send_keys("My answer is friends")
        device.driver.find_element(By.CSS_SELECTOR, "#compose .send").click()
        device.wait.until(lambda d: "notice" in box.get_attribute("aria-describedby"))
        assert device.notice() == words["resting"]
        assert box.get_attribute("aria-invalid") is None  # nothing is wrong with their words
        assert box.get_attribute("value") == "My answer is friends"
        check_notice_can_be_heard(device)
        assert_accessible(device, "09-error-rasa-resting")
        box.clear()
        box.send_keys(Keys.ENTER)  # a notice the script shows by itself can be heard too
        device.wait.until(lambda d: device.notice() == words["no_words"])
        check_notice_can_be_heard(device)
    finally:
        device.close()
        served.stop()


def check_notice_can_be_heard(device: Browser, plays: bool = True) -> None:
    """The notice has one Listen button after it, described by the notice, that plays (unless
    the voice is a fake one whose clip no browser can play)."""
    [listen] = device.driver.find_elements(By.CSS_SELECTOR, "#notice-listen .listen")
    assert listen.tag_name == "button" and listen.text == "Listen"
    assert listen.get_attribute("aria-describedby") == "notice-text"
    assert device.driver.find_element(By.ID, "notice-text").text == device.notice()
    if not plays:
        return
    listen.click()
    audio = device.driver.find_element(By.CSS_SELECTOR, "#notice-listen audio")
    device.wait.until(lambda d: d.execute_script(
        "const a = arguments[0]; return a.currentTime > 0 || a.ended;", audio),
        message="the notice did not play")
    assert device.driver.execute_script("return arguments[0].error", audio) is None


def test_while_a_reply_is_slow_the_page_shows_it_is_sending(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    device = Browser(served.url)
    try:
        device.open()
        fake_rasa.delay = 3.0  # a slow reply
        pressed = next(e for e in device.driver.find_elements(By.CSS_SELECTOR, ".choices button")
                       if e.text == "Yes")
        pressed.click()
        # At once: their press shows as their message, the log is busy, the status says so,
        # and no button can be pressed (focus stays where it was).
        shown = device.driver.find_element(By.CSS_SELECTOR, "#messages .sending .text")
        assert shown.text == "Yes"
        device.wait_for_status(words["sending"])
        assert device.busy()
        buttons = device.driver.find_elements(By.CSS_SELECTOR,
                                              ".choices button, #controls button, #compose .send")
        assert {b.get_attribute("aria-disabled") for b in buttons} == {"true"}
        assert device.active() == pressed
        assert_accessible(device, "11-sending")
        pressed.click()  # a second press is not sent again
        device.driver.find_element(By.CSS_SELECTOR, "#controls button").click()
        device.wait_for_reply(1)
        assert device.texts() == ["Hello! Do you want to take part?", "Yes",
                                  "You pressed /affirm."]
        assert [body["message"] for body in fake_rasa.received] == ["/greet", "/affirm"]
        assert device.status() == "" and not device.driver.find_elements(By.CSS_SELECTOR, ".sending")
        assert not device.driver.find_elements(By.CSS_SELECTOR, "[aria-disabled]")

        # Typed words show at once too; when sending fails they go back in the box.
        fake_rasa.failures = 1
        box = device.driver.find_element(By.ID, "message")
        box.send_keys("My friends", Keys.ENTER)
        assert device.driver.find_element(By.CSS_SELECTOR, "#messages .sending .text").text \
            == "My friends"
        assert box.get_attribute("value") == ""
        device.wait.until(lambda d: device.notice() == words["resting"])
        assert not device.busy() and device.status() == ""
        assert box.get_attribute("value") == "My friends" and device.active() == box
        assert not device.driver.find_elements(By.CSS_SELECTOR, ".sending, [aria-disabled]")
        assert device.texts()[-1] == "You pressed /affirm."
        fake_rasa.delay = 0.0  # a quick reply leaves no status behind
        device.press_control(words["help"])
        time.sleep(0.3)
        assert device.status() == "" and not device.busy()
    finally:
        device.close()


def test_the_pages_own_buttons_help_repeat_and_sound_at_any_step(browser, words):
    browser.open()
    assert browser.controls() == [words[field] for field in (
        "help", "say_again", "stop_for_now", "start_again", "sound_on", "sound_off")]
    count = len(browser.texts())
    browser.press_control(words["help"])
    assert browser.texts()[count] == words["help"]  # shown as what they said
    browser.wait_for_message("You can type, or press a button.")
    browser.wait_for_choice(SOUND_ON)  # and the question again, with its buttons
    browser.press_control(words["sound_on"])
    browser.wait_for_message("Press Listen under my words to hear them.")
    browser.wait_for_choice("Tell me more")
    count = len(browser.texts())
    browser.press_control(words["say_again"])
    assert browser.texts()[count] == words["say_again"]
    browser.wait_for_choice("Tell me more")
    assert_accessible(browser, "12-controls")
    for control in ("stop_for_now", "start_again"):
        count = len(browser.texts())
        browser.press_control(words[control])
        assert browser.texts()[count] == words[control] and len(browser.texts()) > count + 1


def test_without_javascript_the_forms_still_work(live_web, words):
    device = Browser(live_web.url, javascript=False)
    try:
        start_talking(device)
        assert device.driver.find_elements(By.CSS_SELECTOR, "a.listen")  # plain links to MP3
        device.driver.find_element(By.XPATH, "//button[text()='Yes']").click()
        device.wait_for_choice("For myself")
        device.driver.find_element(By.XPATH, "//button[text()='For myself']").click()
        device.wait_for_message(QUESTION_1)
        before = device.texts()
        device.driver.find_element(By.CSS_SELECTOR, "#compose .send").click()  # no words
        device.wait.until(lambda d: device.notice() == words["no_words"])
        assert device.texts() == before  # nothing went to Rasa: the question is still there
        device.driver.find_element(By.ID, "message").send_keys("Music and <i>art</i>")
        device.driver.find_element(By.CSS_SELECTOR, "#compose .send").click()
        device.wait_for_message("You said: Music and <i>art</i>")
        device.driver.find_element(  # the page's own buttons are plain forms too
            By.XPATH, f"//form[@id='controls']//button[text()='{words['help']}']").click()
        device.wait_for_message("You can type, or press a button.")
        device.driver.find_element(By.CSS_SELECTOR, ".looks button[value='contrast']").click()
        device.wait.until(lambda d: "contrast" in (
            d.execute_script("return document.documentElement.className") or ""))
        device.screenshot("10-no-javascript")
    finally:
        device.close()


def test_after_delete_my_answers_the_open_page_shows_nothing_from_before(browser):
    start_talking(browser)
    browser.press("Yes")
    browser.wait_for_choice("For myself")
    browser.press("For myself")
    browser.wait_for_message(QUESTION_1)
    browser.say("Walks with my sister Zelda")
    browser.wait_for_message("You said: Walks with my sister Zelda")
    browser.say("Delete my answers")
    browser.wait_for_choice("Yes, delete them")
    browser.press("Yes, delete them", wait=False)
    browser.wait_for_message("We have deleted your answers")
    # Without a reload: the script replaced the messages, so no earlier words stay on screen.
    texts = browser.texts()
    assert not any("Zelda" in text for text in texts), texts
    assert texts[0].startswith("We have deleted your answers")
    assert_accessible(browser, "07-after-erasure")


def test_the_page_for_an_address_that_is_not_there_reads_well(browser, words):
    from selenium.webdriver.common.by import By

    browser.driver.get(browser.base_url + "/no-such-page")
    assert browser.driver.find_element(By.TAG_NAME, "h1").text == words["not_here"]
    assert_accessible(browser, "not-found")
    browser.driver.find_element(By.LINK_TEXT, words["back_to_chat"]).click()
    browser.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .message"))


def test_after_an_old_button_a_reload_does_not_say_it_was_old_again(fake_rasa, serve_web, words):
    served = serve_web(fake_rasa.url)
    device = Browser(served.url)
    try:
        device.open()
        first_tab = device.driver.current_window_handle
        device.driver.switch_to.new_window("tab")  # the same device: the same chat
        device.open()
        device.press("Yes")
        device.driver.switch_to.window(first_tab)
        next(e for e in device.driver.find_elements(By.CSS_SELECTOR, ".choices button")
             if e.text == "No").click()
        device.wait.until(lambda d: device.notice() == words["old_button"])
        device.driver.refresh()  # later, on the same page: nothing is wrong now
        device.wait.until(lambda d: device.texts()[-1:] == ["You pressed /affirm."])
        assert device.notice() == ""
        assert "old=" not in device.driver.current_url
    finally:
        device.close()


def test_words_typed_in_a_tab_the_chat_moved_on_from_stay_in_the_box(fake_rasa, serve_web,
                                                                      words):
    served = serve_web(fake_rasa.url)
    device = Browser(served.url)
    try:
        device.open()
        device.say("ask me a question")  # the fake asks question 1, with Skip
        device.wait_for_choice("Skip this question")
        first_tab = device.driver.current_window_handle
        device.driver.switch_to.new_window("tab")  # the same device: the same chat
        device.open()
        device.press("Skip this question")
        device.wait_for_message("Question 2")
        device.driver.switch_to.window(first_tab)  # still shows question 1
        box = device.driver.find_element(By.ID, "message")
        box.send_keys("My answer to one", Keys.ENTER)
        device.wait.until(lambda d: device.notice() == words["chat_moved"])
        assert box.get_attribute("value") == "My answer to one" and device.active() == box
        assert device.texts()[-1] == "Question 2: what helps you?"  # what this tab missed
        assert device.choices() == ["Skip this question"]
        assert [body["message"] for body in fake_rasa.received][-1] == "/skip"
        check_notice_can_be_heard(device, plays=False)
        assert_accessible(device, "13-chat-moved-on")
        box.send_keys(Keys.ENTER)  # now they have seen question 2: the words go through
        device.wait_for_message("You said: My answer to one")
        assert device.notice() == ""
    finally:
        device.close()


def test_the_buttons_focused_after_a_reply_are_named_by_the_question(fake_rasa, serve_web):
    served = serve_web(fake_rasa.url)
    device = Browser(served.url)
    try:
        device.open()  # the server draws the first buttons; the script adds the next ones
        for step in ("server", "script"):
            group = device.driver.find_element(By.CSS_SELECTOR, ".choices")
            label = device.driver.find_element(By.ID, group.get_attribute("aria-labelledby"))
            assert group.get_attribute("role") == "group", step
            assert label.text == device.texts()[-1], step  # the question these buttons answer
            device.say("ask me a question")
            device.wait_for_choice("Skip this question")
        assert device.active().text == "Skip this question"
        assert device.driver.execute_script(
            "return arguments[0].closest('[role=group]').getAttribute('aria-labelledby')",
            device.active()).startswith("t-")
        assert_accessible(device, "14-buttons-named-by-question")
    finally:
        device.close()
