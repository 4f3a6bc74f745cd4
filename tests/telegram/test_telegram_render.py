"""Shaping replies for Telegram: long texts split at sentence ends, buttons and callback data."""
from bot.telegram.render import (CALLBACK_LIMIT, MESSAGE_LIMIT, fits_callback, outgoing_messages,
                                 payload_key, split_text, telegram_length)


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
