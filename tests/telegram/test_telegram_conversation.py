"""End to end: the real bot, the fake Bot API and the REAL Rasa and action servers."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.store import queries
from bot.rest_client import RestClient
from bot.telegram.rasa import RasaChannel
from bot.wording import response_text
from pilot import Policy, Step, act, reference, rest_sender, texts_of

pytestmark = pytest.mark.servers


def said(domain: Path, name: str) -> str:
    """A response's text as domain.yml has it."""
    return response_text(domain, name)


def stored_answers(services, sender: str):
    with services.sessions() as session:
        participant = queries.get_participant(session, pseudonym=services.conversation.pseudonym(sender))
        return participant, [a.text for a in queries.answers_for(session, participant=participant)]


def test_a_participant_goes_through_the_whole_conversation(fake_api, start_bot, bot_settings,
                                                           rasa_servers, telegram_domain):
    domain = telegram_domain
    answers = ["Friends and my cat", "Staff who listen to me", "Long waits and noise"]
    extra = "Going to the park"
    policy = Policy(domain, answers, more_info_first=True, add_more_once=extra,
                    before_first_answer=[Step("command", "sound_on")])
    # The reference speaks as the Telegram channel too: Telegram offers news at the end, REST does not.
    rest = RestClient(rasa_servers.rasa_url, channel="telegram")
    transcript = reference(rest_sender(rest.send, "reference"), policy)
    bot = start_bot(bot_settings)
    pat = fake_api.user(424242001, first_name="Pat", language_code="en-GB")
    sender = bot.services.pseudonymizer.pseudonym(str(pat.id), channel="telegram")

    sound_on_at = None
    for step, replies in transcript:
        if step == Step("say", answers[0]):  # things that are not words, mid-question
            pat.ask(pat.sticker, said(domain, "utter_cannot_open_that"))
            pat.ask(pat.voice, said(domain, "utter_cannot_listen_yet"))
        if step == Step("say", answers[2]):
            fake_api.fail_next("sendMessage", status=429, retry_after=1)
        if step == Step("command", "sound_on"):
            # Only the offer of sound, before the choice (it may still be on its way); after
            # "No, thank you", none.
            fake_api.wait_for(pat.voices, 60, "the offer of sound read aloud")
            assert len(pat.voices()) == 1, "sound was off: no voice notes but the offer"
            sound_on_at = pat.mark()
        mark = len(pat.texts())
        update = act(pat, step)
        expected = texts_of(replies)
        fake_api.wait_for(lambda: len(pat.texts()) >= mark + len(expected), 60,
                          f"the replies to {step}")
        assert pat.texts()[mark:] == expected, f"Telegram and REST differ after {step}"
        if step == Step("say", answers[1]):
            fake_api.push(dict(update), again=True)  # Telegram delivers the same update again
            time.sleep(2.0)
            assert len(pat.texts()) == mark + len(expected), "a duplicate update got a reply"

    # Every text since sound went on is read aloud, after its text, each file uploaded once.
    texts_after = lambda: [m for m in pat.inbox()[sound_on_at:] if "text" in m]  # noqa: E731
    voices_after = lambda: [m for m in pat.inbox()[sound_on_at:] if "voice" in m]  # noqa: E731
    fake_api.wait_for(lambda: len(voices_after()) >= len(texts_after()), 90, "every voice note")
    time.sleep(1.0)
    assert len(voices_after()) == len(texts_after())
    for text, voice in zip(texts_after(), voices_after()):
        assert voice["message_id"] > text["message_id"], "a voice note came before its text"
    voice_ids = [v["file_id"] for v in pat.voices()]
    assert len(set(voice_ids)) < len(voice_ids), "repeated messages should reuse a voice note"
    uploads = [c for c in fake_api.calls_to("sendVoice", chat_id=pat.id) if "voice" in c.files]
    assert len(uploads) == len(set(voice_ids))
    assert all(c.files["voice"].startswith(b"OggS") for c in uploads)
    assert 429 in [c.status for c in fake_api.calls_to("sendMessage", chat_id=pat.id)]

    participant, stored = stored_answers(bot.services, sender)
    assert stored == [answers[0], extra, answers[1], answers[2]]
    assert participant.language == "en-GB" and participant.sound is True
    still_pressable = [m for m in pat.inbox() if m.get("reply_markup")]
    assert len(still_pressable) <= 1, "old buttons were left pressable"
    assert str(pat.id) not in _tracker_senders(bot_settings)

    # "What do you know about me?": the words, then the whole record as a JSON file.
    told = pat.ask(lambda: pat.say("What do you know about me?"), said(domain, "utter_my_data_file"))
    [document] = fake_api.wait_for(pat.documents, 30, "the record as a file")
    assert document["file_name"] == "coproduce-my-data.json"
    assert document["message_id"] > told["message_id"]
    assert [a["text"] for a in json.loads(document["content"])["answers"]] == stored


def test_a_message_sent_while_rasa_rests_is_kept_and_answered_later(
        fake_api, start_bot, bot_settings, rasa_switch, telegram_domain):
    domain = telegram_domain
    start_bot(bot_settings, rasa=RasaChannel(rasa_switch.url))
    lou = fake_api.user(424242002)
    lou.ask(lambda: lou.command("start"), said(domain, "utter_ask_sound"))
    rasa_switch.down()
    mark = lou.mark()
    lou.command("sound_off")
    lou.wait_for_text(said(domain, "utter_resting_kept"), after=mark)
    kept = lou.mark()
    lou.command("help")
    lou.wait_for_text(said(domain, "utter_message_kept"), after=kept)
    rasa_switch.up()
    consent = lou.wait_for_text(said(domain, "utter_ask_consent"), after=mark, timeout=60)
    help_text = lou.wait_for_text(said(domain, "utter_help"), after=mark, timeout=60)
    assert consent["message_id"] < help_text["message_id"], "kept messages went out of order"
    assert said(domain, "utter_send_again") not in lou.texts()


def _tracker_senders(settings) -> set:
    """Every sender id in Rasa's tracker store (SQLite next to the product's database)."""
    database = Path(make_url(settings.database_url).database)
    tracker = database.with_name(database.stem + "-tracker.db")
    with sqlite3.connect(tracker) as connection:
        return {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}
