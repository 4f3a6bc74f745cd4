"""The Telegram transport against the fake Bot API and a stub Rasa: rendering, buttons, limits,
duplicates, odd messages, voice notes, files and the webhook."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import pytest
import requests

from bot.telegram.app import Webhook
from bot.wording import response_text

from stub_rasa import StubRasa  # tests/telegram/ is on sys.path (see conftest.py)

BUTTONS = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def buttons_reply(text):
    return [{"text": "Do you want to take part?", "buttons": BUTTONS}]


def test_text_and_buttons_arrive_and_a_pressed_keyboard_goes(fake_api, start_bot, stub_settings):
    rasa = StubRasa(buttons_reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    sam = fake_api.user(1001)
    question = sam.ask(lambda: sam.say("hello"), "take part")
    assert [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row] == ["Yes", "No"]
    sam.press("Yes")
    fake_api.wait_for(lambda: len(rasa.sent) == 2, 10, "the payload to reach Rasa")
    assert rasa.sent[1]["text"] == "/affirm"
    fake_api.wait_for(lambda: "reply_markup" not in fake_api.messages[1001][question["message_id"]],
                      10, "the keyboard to be removed")
    assert fake_api.calls_to("answerCallbackQuery")


def test_rasa_gets_a_pseudonym_a_stable_id_and_the_language(fake_api, start_bot, stub_settings):
    rasa = StubRasa()
    bot = start_bot(stub_settings, rasa=rasa, speech=None)
    kim = fake_api.user(123456789, language_code="en-GB")
    update = kim.say("hello")
    kim.wait_for_text("You sent: hello")
    sent = rasa.sent[0]
    assert sent["sender"] == bot.services.pseudonymizer.pseudonym("123456789", channel="telegram")
    # The chat id (the user id, in a private chat) never goes to Rasa: its tracker store keeps
    # every message's metadata.
    assert "123456789" not in json.dumps(sent)
    assert sent["metadata"] == {"message_id": sent["message_id"], "language": "en-GB"}
    fake_api.push(dict(update), again=True)  # the same update delivered twice
    time.sleep(1.0)
    assert len(rasa.sent) == 1 and kim.texts().count("You sent: hello") == 1


def test_menu_commands_are_registered_and_sent_as_intents(fake_api, start_bot, stub_settings,
                                                          telegram_domain):
    rasa = StubRasa()
    start_bot(stub_settings, rasa=rasa, speech=None)
    names = [c["command"] for c in fake_api.commands]
    assert names == ["start", "help", "repeat", "sound_on", "sound_off", "stop", "mydata",
                     "delete"]
    assert fake_api.commands[1]["description"] == response_text(telegram_domain, "utter_menu_help")
    ana = fake_api.user(1002)
    from bot.telegram.words import COMMANDS

    for name in names:
        ana.ask(lambda: ana.command(name), f"You sent: {COMMANDS[name][0]}")
    ana.ask(lambda: ana.say("/unknown_thing"), "You sent: unknown thing")


def test_long_replies_are_split_and_long_payloads_fit(fake_api, start_bot, stub_settings):
    long_payload = '/inform{"choice": "' + "a very long choice " * 5 + '"}'

    def reply(text):
        if text == "long":
            return [{"text": "This is a sentence that goes on. " * 300}]
        return [{"text": "Pick one.", "buttons": [{"title": "That one", "payload": long_payload}]}]

    rasa = StubRasa(reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    lee = fake_api.user(1003)
    lee.ask(lambda: lee.say("long"), "sentence")
    fake_api.wait_for(lambda: len(lee.texts()) >= 3, 10, "three parts")
    assert all(len(t) < 4096 and t.endswith(".") for t in lee.texts())
    assert "".join(lee.texts()).count("goes on.") == 300
    lee.ask(lambda: lee.say("buttons"), "Pick one.")
    lee.press("That one")
    fake_api.wait_for(lambda: len(rasa.sent) == 3, 10, "the long payload to reach Rasa")
    assert rasa.sent[2]["text"] == long_payload


def test_a_second_press_on_the_same_buttons_is_ignored(fake_api, start_bot, stub_settings):
    rasa = StubRasa(buttons_reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    jo = fake_api.user(1004)
    question = jo.ask(lambda: jo.say("hi"), "take part")
    jo.press("Yes", question)
    jo.press("No", question)  # pressed before the buttons disappeared
    time.sleep(1.0)
    assert [s["text"] for s in rasa.sent] == ["hi", "/affirm"]


def test_typing_shows_while_the_assistant_thinks(fake_api, start_bot, stub_settings):
    start_bot(stub_settings, rasa=StubRasa(delay=0.8), speech=None)
    mo = fake_api.user(1005)
    mo.ask(lambda: mo.say("hi"), "You sent")
    action = fake_api.calls_to("sendChatAction", chat_id=1005)[0]
    assert action.params["action"] == "typing"


def test_a_very_slow_answer_is_explained_once_and_the_message_sent_once(fake_api, start_bot,
                                                                         stub_settings,
                                                                         telegram_domain):
    rasa = StubRasa(delay=3.0)
    bot = start_bot(stub_settings, rasa=rasa, speech=None)
    bot.application.bot_data["relay"].slow_after = 1.0  # 30 s in use
    ivy = fake_api.user(1017)
    ivy.ask(lambda: ivy.say("hi"), "You sent")
    slow = response_text(telegram_domain, "utter_taking_long")
    texts = [call.params["text"] for call in fake_api.calls_to("sendMessage", chat_id=1017)]
    assert texts.count(slow) == 1 and texts.index(slow) < len(texts) - 1  # before the reply
    assert [s["text"] for s in rasa.sent] == ["hi"]  # Rasa is not asked twice


@pytest.mark.parametrize("send, reply", [
    ("sticker", "utter_cannot_open_that"), ("photo", "utter_cannot_open_that"),
    ("document", "utter_cannot_open_that"), ("location", "utter_cannot_open_that"),
    ("voice", "utter_cannot_listen_yet")])
def test_things_that_are_not_words_get_a_kind_reply(fake_api, start_bot, stub_settings,
                                                    telegram_domain, send, reply):
    rasa = StubRasa()
    start_bot(stub_settings, rasa=rasa, speech=None)
    al = fake_api.user(1006)
    al.ask(lambda: getattr(al, send)(), response_text(telegram_domain, reply))
    assert rasa.sent == []


def rasa_tracker_store(settings):
    """Rasa's own SQL tracker store on the settings' tracker database (it makes the table)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    from bot.servers import tracker_store_config

    config = tracker_store_config(settings)
    return SQLTrackerStore(domain=Domain.empty(), dialect=config["dialect"], db=config["db"],
                           host=config.get("url"), port=config.get("port"))


@pytest.mark.parametrize("send, reply", [("sticker", "utter_cannot_open_that"),
                                         ("voice", "utter_cannot_listen_yet")])
def test_a_first_message_that_is_not_words_is_answered_then_the_chat_starts(
        fake_api, start_bot, stub_settings, telegram_domain, send, reply):
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = rasa_tracker_store(stub_settings)  # as Rasa leaves it: no conversation yet
    rasa = StubRasa(buttons_reply)
    bot = start_bot(stub_settings, rasa=rasa, speech=None)
    new = fake_api.user(1040)
    new.ask(lambda: getattr(new, send)(), response_text(telegram_domain, reply))
    # "Please type, or press a button": the chat starts, so there are buttons to press.
    started = new.wait_for_text("take part")
    assert [b["text"] for row in started["reply_markup"]["inline_keyboard"] for b in row] == ["Yes", "No"]
    assert new.texts() == [response_text(telegram_domain, reply), "Do you want to take part?"]
    assert [sent["text"] for sent in rasa.sent] == ["/start"]

    # Someone Rasa has talked with before gets the kind reply only: their buttons are there.
    known = fake_api.user(1041)
    tracker = DialogueStateTracker(bot.services.pseudonymizer.pseudonym("1041", channel="telegram"), [])
    tracker.update(UserUttered("hello", intent={"name": "greet"}))
    asyncio.run(store.save(tracker))
    store.engine.dispose()
    known.ask(lambda: getattr(known, send)(), response_text(telegram_domain, reply))
    time.sleep(0.5)
    assert len(known.texts()) == 1 and [sent["text"] for sent in rasa.sent] == ["/start"]


def test_in_a_group_the_bot_says_it_talks_only_in_private_and_reads_nothing(fake_api, start_bot,
                                                                            stub_settings, telegram_domain):
    from fake_bot_api import BOT_ID

    rasa = StubRasa()
    start_bot(stub_settings, rasa=rasa, speech=None)
    dee, group = fake_api.user(1031), -100777
    expected = response_text(telegram_domain, "utter_only_in_private")

    def group_texts():
        return [m["text"] for m in fake_api.messages.get(group, {}).values() if "text" in m]

    dee.in_group(group, new_chat_members=[{"id": BOT_ID, "is_bot": True, "first_name": "Coproduce",
                                           "username": "coproduce_test_bot"}])
    fake_api.wait_for(lambda: group_texts() == [expected], 30, "the private-chat reply after being added")
    dee.in_group(group, text="I like the park and my friends")  # not for the bot: left alone
    dee.in_group(group, new_chat_members=[{"id": 555, "is_bot": False, "first_name": "Ed"}])
    dee.in_group(group, text="/start@coproduce_test_bot",
                 entities=[{"type": "bot_command", "offset": 0, "length": 25}])
    fake_api.wait_for(lambda: len(group_texts()) == 2, 30, "the private-chat reply to /start")
    time.sleep(0.5)
    assert group_texts() == [expected, expected]
    assert rasa.sent == []  # nothing from the group reached the assistant
    assert dee.texts() == []  # and nothing was sent to the participant's own chat


def test_the_words_under_a_photo_go_to_the_assistant(fake_api, start_bot, stub_settings):
    rasa = StubRasa()
    start_bot(stub_settings, rasa=rasa, speech=None)
    cy = fake_api.user(1016)
    cy.ask(lambda: cy.photo(caption="This is my day centre, I love it"),
           "You sent: This is my day centre, I love it")
    assert [s["text"] for s in rasa.sent] == ["This is my day centre, I love it"]
    texts = [call.params["text"] for call in fake_api.calls_to("sendMessage", chat_id=1016)]
    assert texts[0].startswith("I cannot see pictures")  # first: only the words were read


def test_an_edited_message_goes_to_the_assistant_as_an_edit_never_as_new_words(fake_api, start_bot,
                                                                              stub_settings):
    """The assistant checks the new words for harm and says kindly that changes are not read;
    they never arrive as a message of their own (an answer stored twice)."""
    rasa = StubRasa()
    start_bot(stub_settings, rasa=rasa, speech=None)
    bo = fake_api.user(1007)
    update = bo.say("my first words")
    bo.wait_for_text("You sent: my first words")
    bo.ask(lambda: bo.edit(update, 'my "changed" words {and} more'), "You sent: /edited")
    first, edit = rasa.sent
    assert first["text"] == "my first words"
    assert edit["text"] == '/edited{"edited_words": "my \\"changed\\" words {and} more"}'
    assert edit["message_id"] != first["message_id"] and edit["message_id"].startswith(first["message_id"])


def test_flood_control_and_network_errors_are_waited_out(fake_api, start_bot, stub_settings):
    start_bot(stub_settings, rasa=StubRasa(), speech=None)
    cy = fake_api.user(1008)
    fake_api.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    cy.ask(lambda: cy.say("one"), "You sent: one")
    assert time.monotonic() - started >= 1.0
    fake_api.fail_next("sendMessage", status=502, times=2)
    cy.ask(lambda: cy.say("two"), "You sent: two")
    statuses = [c.status for c in fake_api.calls_to("sendMessage", chat_id=1008)]
    assert statuses == [429, 200, 502, 502, 200]
    assert cy.texts() == ["You sent: one", "You sent: two"]


class SlowSpeech:
    """A speech service that reads slowly and returns one of two real OGG files."""

    def __init__(self, audio_for, delay: float = 0.0):
        self.audio_for = audio_for
        self.delay = delay
        self.calls = []

    def synthesize(self, text, language="en", sender=None):
        self.calls.append((text, language))
        time.sleep(self.delay)
        return self.audio_for(text)


def test_a_slow_answer_from_telegram_does_not_send_a_message_twice(fake_api, start_bot,
                                                                    stub_settings):
    start_bot(stub_settings, rasa=StubRasa(buttons_reply), speech=None)
    fake_api.slow_next("sendMessage", 7.0)  # longer than PTB's usual 5 s read timeout
    ann = fake_api.user(1016)
    ann.ask(lambda: ann.say("hi"), "take part")
    time.sleep(1.0)
    assert len(fake_api.calls_to("sendMessage", chat_id=1016)) == 1


def test_voice_notes_follow_the_text_and_upload_once(fake_api, start_bot, stub_settings):
    from bot.speech import build_speech_service

    speech = build_speech_service(stub_settings)
    slow = SlowSpeech(lambda text: speech.synthesize(text, "en"), delay=1.5)
    bot = start_bot(stub_settings, rasa=StubRasa(lambda text: [{"text": "Thank you."},
                                                               {"text": f"You said {text}."}]),
                    speech=slow)
    di = fake_api.user(1009)
    sender = bot.services.pseudonymizer.pseudonym("1009", channel="telegram")
    bot.services.conversation.set_sound(sender, False, channel="telegram")
    di.ask(lambda: di.say("no sound yet"), "You said no sound yet.")
    time.sleep(0.5)
    assert di.voices() == [] and slow.calls == []
    bot.services.conversation.set_sound(sender, True, channel="telegram")
    started = time.monotonic()
    di.ask(lambda: di.say("a cat"), "You said a cat.")
    assert time.monotonic() - started < 1.0, "the text waited for the voice"
    fake_api.wait_for(lambda: len(di.voices()) == 2, 20, "two voice notes")
    texts_then_voices = ["text" if "text" in m else "voice" for m in di.inbox()]
    assert texts_then_voices == ["text", "text", "text", "text", "voice", "voice"]
    di.ask(lambda: di.say("a dog"), "You said a dog.")
    fake_api.wait_for(lambda: len(di.voices()) == 4, 20, "four voice notes")
    thanks = [v["file_id"] for v in di.voices()][0::2]
    assert thanks[0] == thanks[1], "the same words were uploaded twice"
    uploads = [c for c in fake_api.calls_to("sendVoice") if "voice" in c.files]
    assert len(uploads) == 3 and len(fake_api.calls_to("sendVoice")) == 4
    fake_api.wait_for(lambda: bot.outbox.counts["voice_uploaded"] == 3
                      and bot.outbox.counts["voice_by_file_id"] == 1, 5, "the bot's counts")


def test_a_failed_voice_never_holds_back_text(fake_api, start_bot, stub_settings):
    def broken(text):
        raise RuntimeError("no voice today")

    bot = start_bot(stub_settings, rasa=StubRasa(), speech=SlowSpeech(broken))
    ed = fake_api.user(1010)
    bot.services.conversation.set_sound(
        bot.services.pseudonymizer.pseudonym("1010", channel="telegram"), True, channel="telegram")
    ed.ask(lambda: ed.say("one"), "You sent: one")
    ed.ask(lambda: ed.say("two"), "You sent: two")
    assert ed.voices() == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_webhook_mode_checks_the_secret_token(fake_api, start_bot, stub_settings):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates"
    start_bot(stub_settings, rasa=StubRasa(), speech=None,
              webhook=Webhook(url, "s3cret-token", "127.0.0.1", port))
    assert fake_api.webhook["url"] == url and fake_api.webhook["secret_token"] == "s3cret-token"
    fi = fake_api.user(1011)
    update = {"update_id": 5, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": 1011, "type": "private"},
        "from": fi.profile, "text": "through the hook"}}
    assert requests.post(url, json=update, timeout=5).status_code == 403
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
    assert requests.post(url, json=update, headers=wrong, timeout=5).status_code == 403
    time.sleep(0.5)
    assert fi.texts() == []
    right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
    assert requests.post(url, json=update, headers=right, timeout=5).status_code == 200
    fi.wait_for_text("You sent: through the hook", timeout=10)
    assert requests.post(url, json=update, headers=right, timeout=5).status_code == 200
    time.sleep(0.5)
    assert fi.texts() == ["You sent: through the hook"]
    assert fake_api.calls_to("getUpdates") == []


def test_when_rasa_stays_away_the_participant_is_asked_to_send_again(fake_api, start_bot,
                                                                     stub_settings, telegram_domain):
    from bot.telegram.rasa import RasaChannel

    start_bot(stub_settings, rasa=RasaChannel(f"http://127.0.0.1:{_free_port()}"), speech=None,
              patience=1.5)
    gus = fake_api.user(1012)
    gus.say("hello")
    gus.wait_for_text(response_text(telegram_domain, "utter_resting_kept"))
    gus.wait_for_text(response_text(telegram_domain, "utter_send_again"), timeout=10)
    # One message says both: resting, and the message is kept. Never "try again soon", which
    # would have the participant send it twice.
    assert gus.texts() == [response_text(telegram_domain, name) for name in
                           ("utter_resting_kept", "utter_send_again")]
    assert not any("try again" in text for text in gus.texts()[:1])


def _kept_rows(settings):
    from bot.store.db import make_engine
    from bot.telegram.state import TelegramState

    engine = make_engine(settings.database_url)
    try:
        return TelegramState(engine, bot_id=settings.telegram_bot_token.split(":")[0]).waiting()
    finally:
        engine.dispose()


def _stop_while_rasa_rests(fake_api, start_bot, settings, domain, user_id, *words):
    """Send words while Rasa refuses connections, then stop the bot: they wait in the store."""
    from bot.telegram.rasa import RasaChannel

    bot = start_bot(settings, rasa=RasaChannel(f"http://127.0.0.1:{_free_port()}"), speech=None)
    person = fake_api.user(user_id)
    kept = {response_text(domain, "utter_resting_kept"), response_text(domain, "utter_message_kept")}
    for count, text in enumerate(words, 1):
        person.say(text)
        fake_api.wait_for(lambda: sum(t in kept for t in person.texts()) == count, 10,
                          f"message {count} kept")
    bot.stop()
    return person


def test_messages_kept_while_rasa_rests_survive_a_restart(fake_api, start_bot, stub_settings,
                                                          telegram_domain):
    hal = _stop_while_rasa_rests(fake_api, start_bot, stub_settings, telegram_domain, 1013,
                                 "hello", "are you there?")
    assert response_text(telegram_domain, "utter_send_again") not in hal.texts()
    assert [row.text for row in _kept_rows(stub_settings)] == ["hello", "are you there?"]
    told = len(hal.texts())
    rasa = StubRasa()  # Rasa is back, and so is the bot
    start_bot(stub_settings, rasa=rasa, speech=None)
    hal.wait_for_text("You sent: are you there?", after=told)
    assert hal.texts()[told:] == ["You sent: hello", "You sent: are you there?"]
    assert [sent["text"] for sent in rasa.sent] == ["hello", "are you there?"]
    fake_api.wait_for(lambda: not _kept_rows(stub_settings), 10, "the kept messages to go")
    hal.ask(lambda: hal.say("and now"), "You sent: and now")
    assert len(rasa.sent) == 3


def test_messages_kept_too_long_are_asked_for_again_after_a_restart(fake_api, start_bot,
                                                                    stub_settings, telegram_domain):
    ivy = _stop_while_rasa_rests(fake_api, start_bot, stub_settings, telegram_domain, 1016,
                                 "first", "second")
    told = len(ivy.texts())
    time.sleep(1.0)
    rasa = StubRasa()
    start_bot(stub_settings, rasa=rasa, speech=None, patience=0.5)
    ivy.wait_for_text(response_text(telegram_domain, "utter_send_again"), after=told)
    time.sleep(0.5)
    assert ivy.texts()[told:] == [response_text(telegram_domain, "utter_send_again")]
    assert rasa.sent == [] and _kept_rows(stub_settings) == []


def test_kept_messages_leave_no_row_when_the_store_is_slow(fake_api, start_bot, stub_settings,
                                                           telegram_domain, monkeypatch):
    from bot.rest_client import RasaUnavailable
    from bot.telegram.state import TelegramState

    change = TelegramState.change_waiting

    def change_slowly(self, *, keep=(), forget=()):  # a slow disk: every write takes its time
        if keep:
            time.sleep(1.5)
        change(self, keep=keep, forget=forget)

    monkeypatch.setattr(TelegramState, "change_waiting", change_slowly)

    class BackSoon(StubRasa):
        async def send(self, sender, text, **kwargs):
            if len(self.sent) == 0 and not getattr(self, "refused", False):
                self.refused = True
                raise RasaUnavailable("connection refused")
            return await super().send(sender, text, **kwargs)

    rasa = BackSoon()
    start_bot(stub_settings, rasa=rasa, speech=None)
    max_ = fake_api.user(1018)
    max_.say("one")
    max_.wait_for_text(response_text(telegram_domain, "utter_resting_kept"))
    max_.say("two")
    max_.wait_for_text("You sent: two")
    fake_api.wait_for(lambda: not _kept_rows(stub_settings), 10, "no kept message to be left")
    time.sleep(2.0)  # every write has ended by now
    assert _kept_rows(stub_settings) == []
    assert [sent["text"] for sent in rasa.sent] == ["one", "two"]


def test_a_message_is_kept_while_rasa_answers_it_and_not_after(fake_api, start_bot, stub_settings,
                                                               telegram_domain):
    def reply(text):  # what the store holds while Rasa answers (a blocking read: a test only)
        deadline = time.monotonic() + 2  # the write commits while Rasa answers, not before
        while not _kept_rows(stub_settings) and time.monotonic() < deadline:
            time.sleep(0.01)
        return [{"text": f"Kept: {[row.text for row in _kept_rows(stub_settings)]}"}]

    rasa = StubRasa(reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    eve = fake_api.user(1019)
    eve.ask(lambda: eve.say("hello"), "Kept: ['hello']")
    fake_api.wait_for(lambda: not _kept_rows(stub_settings), 10, "the answered message to go")
    eve.ask(lambda: eve.say("again"), "Kept: ['again']")
    # A fixed reply goes neither to Rasa nor to the store.
    eve.ask(eve.sticker, response_text(telegram_domain, "utter_cannot_open_that"))
    fake_api.wait_for(lambda: not _kept_rows(stub_settings), 10, "the answered message to go")
    assert [sent["text"] for sent in rasa.sent] == ["hello", "again"]


def test_stopping_while_rasa_answers_asks_the_participant_to_send_again(fake_api, start_bot,
                                                                       stub_settings,
                                                                       telegram_domain):
    rasa = StubRasa(delay=30)  # still thinking when the bot stops (after 10 s of grace)
    bot = start_bot(stub_settings, rasa=rasa, speech=None)
    jo = fake_api.user(1017)
    jo.say("a slow one")
    fake_api.wait_for(lambda: rasa.sent, 10, "Rasa to get the message")
    bot.stop()
    assert jo.texts()[-1] == response_text(telegram_domain, "utter_send_again")
    assert _kept_rows(stub_settings) == []


THEMES = [{"title": f"Theme {n}", "payload": f'/choose_theme{{"theme":"t{n}"}}'} for n in (1, 2, 3)]


def picking_reply(text):
    if text.startswith("/choose_theme"):
        return [{"text": "Added."}]  # no new buttons: the ones showing stay useful
    if text == "/themes_done":
        return [{"text": "Anything else?", "buttons": BUTTONS}]
    return [{"text": "Press all that fit.", "buttons": THEMES},
            {"text": "Then press That is all.",
             "buttons": [{"title": "That is all", "payload": "/themes_done"}]}]


def _titles(message):
    return [b["text"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row]


def test_a_multiple_choice_loses_only_the_pressed_button(fake_api, start_bot, stub_settings):
    rasa = StubRasa(picking_reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    kit = fake_api.user(1014)
    themes = kit.ask(lambda: kit.say("my answer"), "Press all that fit.")
    as_first_shown = json.loads(json.dumps(themes))
    done = kit.wait_for_text("That is all")
    kit.ask(lambda: kit.press("Theme 2"), "Added.")
    kit.ask(lambda: kit.press("Theme 1"), "Added.")
    kit.press("Theme 1", as_first_shown)  # pressed again before it went: ignored
    time.sleep(0.5)
    assert _titles(fake_api.messages[1014][themes["message_id"]]) == ["Theme 3"]
    assert _titles(fake_api.messages[1014][done["message_id"]]) == ["That is all"]
    kit.ask(lambda: kit.press("That is all"), "Anything else?")
    fake_api.wait_for(lambda: not _titles(fake_api.messages[1014][themes["message_id"]]), 5,
                      "the unused themes to go when new buttons come")
    assert [s["text"] for s in rasa.sent] == ["my answer", '/choose_theme{"theme":"t2"}',
                                               '/choose_theme{"theme":"t1"}', "/themes_done"]


def test_typed_words_leave_buttons_until_new_ones_come(fake_api, start_bot, stub_settings):
    def reply(text):
        return [{"text": "Do you want to take part?", "buttons": BUTTONS}] if text == "hi" \
            else [{"text": "You can press a button."}]

    rasa = StubRasa(reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    val = fake_api.user(1015)
    question = val.ask(lambda: val.say("hi"), "take part")
    as_first_shown = json.loads(json.dumps(question))
    val.ask(lambda: val.say("what?"), "press a button")
    time.sleep(0.3)
    assert _titles(fake_api.messages[1015][question["message_id"]]) == ["Yes", "No"]
    val.ask(lambda: val.say("hi"), "take part")
    fake_api.wait_for(lambda: not _titles(fake_api.messages[1015][question["message_id"]]), 5,
                      "the old buttons to go")
    # A press on the old message (a phone that had not redrawn it yet) is not acted on: the
    # question it asked was answered by typing, and a newer one is showing.
    val.press("No", as_first_shown)
    time.sleep(0.8)
    assert [s["text"] for s in rasa.sent] == ["hi", "what?", "hi"]


def test_buttons_shown_before_a_restart_go_stale_once_newer_ones_come(fake_api, start_bot,
                                                                     stub_settings):
    """After a restart the bot does not know which old keyboards still show. The newest one is
    still the question (pressing it works); an older one, once a newer keyboard has come, is
    not acted on, and its buttons are taken away."""
    def reply(text):
        return [{"text": "Do you want to take part?", "buttons": BUTTONS}] \
            if text in ("hi", "/affirm", "/deny") else [{"text": "You can press a button."}]

    rasa = StubRasa(reply)
    first = start_bot(stub_settings, rasa=rasa, speech=None)
    wes = fake_api.user(1017)
    old = json.loads(json.dumps(wes.ask(lambda: wes.say("hi"), "take part")))
    first.stop()
    rasa = StubRasa(reply)
    start_bot(stub_settings, rasa=rasa, speech=None)
    newest = json.loads(json.dumps(wes.ask(lambda: wes.say("hi"), "take part")))
    wes.press("No", old)  # the keyboard from before the restart: a newer one shows now
    fake_api.wait_for(lambda: not _titles(fake_api.messages[1017][old["message_id"]]), 5,
                      "the old buttons to go")
    time.sleep(0.5)
    assert [s["text"] for s in rasa.sent] == ["hi"]
    wes.press("Yes", newest)  # the newest keyboard works
    fake_api.wait_for(lambda: len(rasa.sent) == 2, 10, "the press to reach Rasa")
    assert rasa.sent[1]["text"] == "/affirm"


def test_the_newest_buttons_from_before_a_restart_still_work(fake_api, start_bot, stub_settings):
    """A participant who comes back after the bot restarted presses the question still on
    screen ("Carry on", Yes or No): it is taken, once."""
    rasa = StubRasa(lambda text: [{"text": "Do you want to take part?", "buttons": BUTTONS}])
    first = start_bot(stub_settings, rasa=rasa, speech=None)
    xia = fake_api.user(1018)
    shown = json.loads(json.dumps(xia.ask(lambda: xia.say("hi"), "take part")))
    first.stop()
    rasa = StubRasa(lambda text: [{"text": f"You sent: {text}"}])
    start_bot(stub_settings, rasa=rasa, speech=None)
    xia.press("Yes", shown)
    xia.wait_for_text("You sent: /affirm")
    xia.press("No", shown)  # the same keyboard again: taken once
    time.sleep(0.5)
    assert [s["text"] for s in rasa.sent] == ["/affirm"]


def test_asking_for_news_keeps_the_chat_id_only_in_the_contacts_table(fake_api, start_bot,
                                                                      stub_settings):
    from bot.store import queries
    from bot.store.models import Contact
    from sqlalchemy import select

    rasa = StubRasa(reply=lambda text: [{"text": f"You sent: {text}",
                                         "custom": {"keep_contact": True}}])
    bot = start_bot(stub_settings, rasa=rasa, speech=None)
    sender = bot.services.pseudonymizer.pseudonym("555000111", channel="telegram")
    with bot.services.sessions.begin() as session:
        queries.get_or_create_participant(session, pseudonym=bot.services.pseudonymizer.pseudonym(sender),
                                          engagement_id="e", channel="telegram")
    lee = fake_api.user(555000111)
    lee.say("yes send me news")
    lee.wait_for_text("You sent: yes send me news")
    assert "555000111" not in json.dumps(rasa.sent)
    with bot.services.sessions() as session:
        contact = session.execute(select(Contact)).scalar_one()
    assert (contact.channel, contact.address) == ("telegram", "555000111")


def test_my_data_arrives_as_a_json_file_after_its_message(fake_api, start_bot, stub_settings,
                                                          caplog):
    record = {"participant": {"role": "self", "status": "active"},
              "answers": [{"question": "q1", "text": "Swimming on Fridays ❤"}]}

    def reply(text):  # as Rasa's REST channel sends it: the words, then the custom payload
        return [{"text": "Here is all we keep about you, in a file."},
                {"custom": {"document": {"filename": "my-data.json", "data": record}}},
                {"text": "What makes a good life for you?"}]

    caplog.set_level("INFO")
    start_bot(stub_settings, rasa=StubRasa(reply), speech=None)
    fake_api.fail_next("sendDocument", status=502)  # a bad moment on the network: tried again
    mo = fake_api.user(1016)
    told = mo.ask(lambda: mo.say("what do you know about me"), "in a file")
    question = mo.wait_for_text("good life", timeout=15)
    [document] = fake_api.wait_for(mo.documents, 15, "the file")
    assert document["file_name"] == "coproduce-my-data.json"
    assert document["mime_type"] == "application/json"
    assert json.loads(document["content"].decode("utf-8")) == record
    assert told["message_id"] < document["message_id"] < question["message_id"]
    assert [c.status for c in fake_api.calls_to("sendDocument", chat_id=1016)] == [502, 200]
    assert "Swimming" not in caplog.text  # personal data stays out of the logs


def deleting_reply(text):
    if text == "yes":
        return [{"text": "We have deleted your answers and this chat."},
                {"custom": {"erased": True}}]
    return [{"text": "Do you want us to delete your answers?",
             "buttons": [{"title": "Yes, delete them", "payload": "/affirm"},
                         {"title": "No, keep them", "payload": "/deny"}]}]


def test_a_typed_yes_to_deleting_takes_the_delete_buttons_away(fake_api, start_bot, stub_settings):
    start_bot(stub_settings, rasa=StubRasa(deleting_reply), speech=None)
    di = fake_api.user(1018)
    asked = di.ask(lambda: di.say("delete my answers"), "Do you want us to delete")
    assert _titles(fake_api.messages[1018][asked["message_id"]]) == ["Yes, delete them",
                                                                      "No, keep them"]
    di.ask(lambda: di.say("yes"), "We have deleted")
    fake_api.wait_for(lambda: not _titles(fake_api.messages[1018][asked["message_id"]]), 5,
                      "the delete buttons to go after the erasure")


@pytest.mark.parametrize("sound", [True, None])
def test_the_goodbye_after_an_erasure_is_read_aloud_if_sound_was_on(fake_api, start_bot,
                                                                    stub_settings, sound):
    """The erasure takes the sound choice from the store before the replies come: the replies
    carry it, so a participant who listens hears that their answers are deleted. None: they
    never chose, so it is read aloud as everything before a choice is."""
    from bot.speech import build_speech_service

    speech = build_speech_service(stub_settings)

    def erasing(sound):
        def reply(text):
            return [{"text": "We have deleted your answers and this chat."},
                    {"custom": {"erased": True, "sound": sound}}]
        return reply

    start_bot(stub_settings, rasa=StubRasa(erasing(sound)), speech=speech)
    ivy = fake_api.user(1019)  # no participant in the store: the erasure took it
    ivy.ask(lambda: ivy.say("yes"), "We have deleted")
    fake_api.wait_for(ivy.voices, 20, "the goodbye read aloud")
    assert len(ivy.voices()) == 1


def test_no_voice_after_an_erasure_when_sound_was_off(fake_api, start_bot, stub_settings):
    from bot.speech import build_speech_service

    rasa = StubRasa(lambda text: [{"text": "We have deleted your answers and this chat."},
                                  {"custom": {"erased": True, "sound": False}}])
    bot = start_bot(stub_settings, rasa=rasa, speech=build_speech_service(stub_settings))
    jo = fake_api.user(1020)
    # Even a choice the store still holds (another transport may erase later) yields to it.
    bot.services.conversation.set_sound(
        bot.services.pseudonymizer.pseudonym("1020", channel="telegram"), True, channel="telegram")
    jo.ask(lambda: jo.say("yes"), "We have deleted")
    time.sleep(2.0)
    assert jo.voices() == []


def test_before_any_sound_choice_messages_are_read_aloud(fake_api, start_bot, stub_settings,
                                                         telegram_domain):
    """Someone who cannot read must hear the offer of sound ("Do you want me to read my
    messages out loud?"), and anything said before they choose; in a group, nothing is read."""
    from fake_bot_api import BOT_ID

    from bot.speech import build_speech_service

    offer = response_text(telegram_domain, "utter_ask_sound")
    bot = start_bot(stub_settings, rasa=StubRasa(lambda text: [{"text": offer}]),
                    speech=build_speech_service(stub_settings))
    kay = fake_api.user(1021)
    kay.ask(lambda: kay.command("start"), offer)
    fake_api.wait_for(kay.voices, 20, "the offer of sound read aloud")
    kay.ask(kay.sticker, response_text(telegram_domain, "utter_cannot_open_that"))
    fake_api.wait_for(lambda: len(kay.voices()) == 2, 20, "the kind reply read aloud")
    bot.services.conversation.set_sound(
        bot.services.pseudonymizer.pseudonym("1021", channel="telegram"), False, channel="telegram")
    kay.ask(lambda: kay.say("no sound"), offer)
    group = -100888
    kay.in_group(group, new_chat_members=[{"id": BOT_ID, "is_bot": True, "first_name": "Coproduce",
                                           "username": "coproduce_test_bot"}])
    fake_api.wait_for(lambda: fake_api.messages.get(group), 20, "the private-chat reply")
    time.sleep(2.0)
    assert len(kay.voices()) == 2  # the choice is kept to
    assert not [m for m in fake_api.messages[group].values() if "voice" in m]


def test_a_voice_note_names_the_buttons_to_press(fake_api, start_bot, stub_settings):
    """Someone who listens instead of reading hears what each theme button says."""
    from bot.speech import build_speech_service

    speech = build_speech_service(stub_settings)
    heard = SlowSpeech(lambda text: speech.synthesize(text, "en"))
    pick = [{"text": "Which ones is it about? Press all that fit.",
             "buttons": [{"title": "🛡️ Being safe", "payload": '/choose_theme{"theme":"being_safe"}'},
                         {"title": "⭐ Having things to do",
                          "payload": '/choose_theme{"theme":"purpose"}'}]}]
    bot = start_bot(stub_settings, rasa=StubRasa(lambda text: pick), speech=heard)
    lee = fake_api.user(1022)
    bot.services.conversation.set_sound(
        bot.services.pseudonymizer.pseudonym("1022", channel="telegram"), True, channel="telegram")
    lee.ask(lambda: lee.say("no"), "Which ones")
    fake_api.wait_for(lee.voices, 20, "the voice note")
    assert [text for text, _ in heard.calls] == [
        "Which ones is it about? Press all that fit.\n🛡️ Being safe.\n⭐ Having things to do."]


def test_an_update_that_cannot_be_read_is_passed_over(fake_api, start_bot, stub_settings, caplog):
    """One update python-telegram-bot cannot read (here a message with no chat and no date)
    must not stop every later one, nor put the participant's words in the log."""
    caplog.set_level(logging.INFO)  # at DEBUG the library logs every request, words and all
    start_bot(stub_settings, rasa=StubRasa(), speech=None)
    broken = fake_api.push({"message": {"message_id": 1, "text": "private words zebra"}})
    sam = fake_api.user(1031)
    sam.ask(lambda: sam.say("hello"), "You sent: hello")
    assert not any("private words zebra" in record.getMessage() for record in caplog.records)
    assert any(f"Passed over Telegram update {broken['update_id']}" in record.getMessage()
               for record in caplog.records)
    # Polling moved past it: the broken update is not fetched again and again.
    offsets = [call.params.get("offset") for call in fake_api.calls_to("getUpdates")]
    assert any(offset and int(offset) > broken["update_id"] for offset in offsets)
