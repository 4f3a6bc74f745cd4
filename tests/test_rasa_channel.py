"""The REST channel's memory of answered messages (bot/rasa_channel.py): what is given again,
what is never kept, and for how long. The channel on the real Rasa server is tested end to end
in tests/test_e2e_rest.py."""
import asyncio

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.rasa_channel import AnsweredOnce, key_of


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def message(text, message_id="m1", sender="s1"):
    return UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest",
                       metadata={"message_id": message_id} if message_id else None)


class Rasa:
    """Stands in for Rasa's agent at the channel's edge: answers, and counts what it was given."""

    def __init__(self, replies=None, delay=0.0):
        self.given = []
        self.replies = replies
        self.delay = delay

    async def __call__(self, user_message):
        self.given.append(user_message.text)
        await asyncio.sleep(self.delay)
        replies = self.replies if self.replies is not None else [{"text": f"You said {user_message.text}"}]
        for reply in replies:
            user_message.output_channel.messages.append({"recipient_id": user_message.sender_id, **reply})


def answers(once, rasa, *messages):
    async def send_all():
        return await asyncio.gather(*(once.handle(m, rasa) for m in messages))
    asyncio.run(send_all())
    return [m.output_channel.messages for m in messages]


def key(text, message_id, sender="s1"):
    return key_of(message(text, message_id, sender), message_id)


def test_the_same_message_id_is_answered_once_with_the_same_replies():
    once, rasa = AnsweredOnce(), Rasa()
    first, again = answers(once, rasa, message("/skip")), answers(once, rasa, message("/skip"))
    assert rasa.given == ["/skip"] and again == first == [[{"recipient_id": "s1", "text": "You said /skip"}]]
    # Another id, another sender, or no id at all: Rasa answers each.
    answers(once, rasa, message("/skip", "m2"), message("/skip", sender="s2"), message("/skip", None))
    assert rasa.given == ["/skip"] * 4
    # Other words under a used id (a client's mistake) are a new message.
    answers(once, rasa, message("/affirm"))
    assert rasa.given == ["/skip"] * 4 + ["/affirm"]


def test_words_with_half_a_character_pair_are_answered_once_too():
    once, rasa = AnsweredOnce(), Rasa()
    answers(once, rasa, message("my job \ud800 and money"))
    answers(once, rasa, message("my job \ud800 and money"))
    assert rasa.given == ["my job \ud800 and money"]


def test_a_copy_sent_while_the_first_is_answered_waits_for_it():
    once, rasa = AnsweredOnce(), Rasa(delay=0.05)
    first, second = answers(once, rasa, message("hello"), message("hello"))
    assert rasa.given == ["hello"] and first == second


def test_an_empty_answer_is_tried_again_and_replies_are_forgotten_in_time():
    clock = Clock()
    once = AnsweredOnce(seconds=600, clock=clock)
    failed = Rasa(replies=[])
    answers(once, failed, message("hi"))
    answers(once, failed, message("hi"))
    assert failed.given == ["hi", "hi"]  # an action failed: sending again tries again
    rasa = Rasa()
    answers(once, rasa, message("yes", "m3"))
    clock.now += 601
    answers(once, rasa, message("yes", "m3"))
    assert rasa.given == ["yes", "yes"]


def test_an_erasure_is_never_kept_and_forgets_that_participants_replies():
    once = AnsweredOnce()
    answers(once, Rasa(), message("My cat", "a1"), message("My dog", "a2", sender="s2"))
    erased = Rasa(replies=[{"text": "Your answers are deleted."}, {"custom": {"erased": True}}])
    answers(once, erased, message("/delete_yes", "d1"))
    assert once.replies_to(key("My cat", "a1")) is None
    assert once.replies_to(key("My dog", "a2", "s2")) == [{"recipient_id": "s2", "text": "You said My dog"}]
    # The erasure's own replies are given again to a retry: they hold none of the words.
    assert once.replies_to(key("/delete_yes", "d1"))[0]["text"] == "Your answers are deleted."


def test_at_most_so_many_messages_are_remembered():
    once = AnsweredOnce(most=2)
    answers(once, Rasa(), *(message(f"w{n}", f"m{n}") for n in range(3)))
    assert once.replies_to(key("w0", "m0")) is None and once.replies_to(key("w2", "m2")) is not None


class Request:
    def __init__(self, body):
        self.json = body


def test_a_message_id_beside_sender_and_message_is_the_messages_id():
    from bot.rasa_channel import RestOnce

    channel = RestOnce()
    assert channel.get_metadata(Request({"sender": "s", "message": "hi", "message_id": 7})) == \
        {"message_id": 7}
    assert channel.get_metadata(Request({"message": "hi", "message_id": "m",
                                         "metadata": {"lang": "en"}})) == \
        {"lang": "en", "message_id": "m"}
    # metadata's own id wins; nothing given, or something that is not an id, changes nothing
    assert channel.get_metadata(Request({"message_id": "top", "metadata": {"message_id": "in"}})) \
        == {"message_id": "in"}
    assert channel.get_metadata(Request({"message": "hi"})) is None
    assert channel.get_metadata(Request({"message": "hi", "message_id": {"a": 1}})) is None
    assert channel.get_metadata(Request(["not", "an", "object"])) is None


def test_rasas_silent_control_payloads_are_read_as_words():
    """Rasa acts on "/restart", "/back" and "/session_start" by itself and says nothing; typed,
    they are words the assistant answers. Other payloads and words pass as they are."""
    from bot.rasa_channel import without_control_intent

    assert [without_control_intent(text) for text in (
        "/restart", " /RESTART ", "/back", "/session_start", '/restart{"a": 1}',
        "/restart please", "/restart@coproduce_bot")] == [
        "restart", "restart", "back", "session start", "restart", "restart please",
        "restart @coproduce_bot"]
    for text in ("/affirm", "/restarts", "/backup", "restart", "", None, '/choose_theme{"theme": "x"}'):
        assert without_control_intent(text) == text
