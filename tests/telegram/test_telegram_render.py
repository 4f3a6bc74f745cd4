"""Shaping replies for Telegram: long texts split at sentence ends, buttons, callback data
and files."""
import json

from bot.documents import Document, file_name
from bot.telegram.render import (CALLBACK_LIMIT, MESSAGE_LIMIT, Outgoing, fits_callback,
                                 outgoing_messages, payload_key, split_text, telegram_length)


def test_a_short_text_is_one_message():
    assert split_text("Hello. How are you?") == ["Hello. How are you?"]


def test_a_long_text_is_split_below_the_limit_at_sentence_ends():
    sentence = "We will read every answer you give us today. "
    text = (sentence * 200).strip()
    parts = split_text(text)
    assert len(parts) > 1
    assert all(telegram_length(part) < MESSAGE_LIMIT for part in parts)
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == text


def test_a_sentence_longer_than_the_limit_is_cut_at_spaces_then_anywhere():
    text = "word " * 2000 + "x" * 5000
    parts = split_text(text.strip(), limit=1000)
    assert all(telegram_length(part) <= 1000 for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_emoji_count_twice_as_telegram_counts_them():
    parts = split_text("💛" * 3000)
    assert len(parts) == 2 and all(telegram_length(p) <= MESSAGE_LIMIT for p in parts)
    assert "".join(parts) == "💛" * 3000


def test_buttons_go_under_the_last_part_of_their_message():
    replies = [{"text": "One. " * 1000, "buttons": [{"title": "Yes", "payload": "/affirm"}]},
               {"text": "Two."}]
    messages = outgoing_messages(replies)
    assert [m.buttons for m in messages[:-1]] == [[]] * (len(messages) - 2) + [[("Yes", "/affirm")]]
    assert messages[-1].text == "Two." and not messages[-1].buttons


def test_buttons_without_text_join_the_message_before():
    messages = outgoing_messages([{"text": "Pick one."},
                                  {"buttons": [{"title": "Help", "payload": "/help"}]}])
    assert len(messages) == 1 and messages[0].buttons == [("Help", "/help")]


def test_payloads_over_64_bytes_travel_as_a_short_key():
    assert fits_callback("/role_on_behalf")
    long = '/inform{"answer": "' + "é" * 40 + '"}'
    assert not fits_callback(long)
    key = payload_key(long)
    assert len(key.encode()) <= CALLBACK_LIMIT and key == payload_key(long)
    assert not fits_callback(key)  # a key can never be mistaken for a payload


def test_a_custom_document_becomes_a_file_in_its_place():
    record = {"answers": [{"text": "Café on Mondays"}]}
    parts = outgoing_messages([
        {"text": "Here is all we keep about you, in a file.",
         "custom": {"document": {"filename": "my-data.json", "data": record}}},
        {"text": "Pick one.", "buttons": [{"title": "Help", "payload": "/help"}]}])
    assert [type(p) for p in parts] == [Outgoing, Document, Outgoing]
    assert parts[1].filename == "coproduce-my-data.json"
    assert json.loads(parts[1].content.decode("utf-8")) == record
    assert "Café" not in repr(parts[1])  # the record never shows in a log line
    assert parts[2].buttons == [("Help", "/help")]


def test_file_names_are_safe_and_carry_the_project_name():
    assert file_name("my-data.json") == "coproduce-my-data.json"
    assert file_name("../../etc/pass wd.json") == "coproduce-pass-wd.json"
    assert file_name("coproduce-export.json") == "coproduce-export.json"
    assert file_name("") == "coproduce-data.json"


def test_a_voice_note_says_the_buttons_the_words_do_not_say():
    from bot.wording import spoken_words

    pick = {"text": "Which ones is it about? Press all that fit.",
            "buttons": [{"title": "🛡️ Being safe", "payload": '/choose_theme{"theme":"being_safe"}'},
                        {"title": "⭐ Having things to do", "payload": '/choose_theme{"theme":"purpose"}'}]}
    assert spoken_words(pick) == ("Which ones is it about? Press all that fit.\n🛡️ Being safe.\n"
                                  "⭐ Having things to do.")
    done = {"text": "When you are done, press That is all. If none of them fit, press None of these.",
            "buttons": [{"title": "That is all", "payload": "/themes_done"},
                        {"title": "None of these", "payload": "/no_theme"}]}
    assert spoken_words(done) == done["text"]  # the words name both buttons already
    yes_no = {"text": "Do you want to take part?",
              "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}
    assert spoken_words(yes_no) == "Do you want to take part?\nYes.\nNo."
    assert spoken_words({"text": "Thank you. You said: Now I know"}) == "Thank you. You said: Now I know"
