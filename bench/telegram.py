"""Telegram bench, run by hand: the latency the Telegram layer adds over Rasa's REST channel, and
many simulated chats at once against the fake Bot API and the real Rasa and action servers.

    .venv/bin/python bench/telegram.py [--pairs 20] [--chats 100] [--no-rate-limit]

It starts its own Rasa and action servers (COPRODUCE_RASA_PORT / COPRODUCE_ACTION_PORT, model
in COPRODUCE_MODELS_DIR) with a scratch database, and the fake Bot API of tests/telegram.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is called telegram.py: keep its folder off the path so `import telegram` finds PTB.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "telegram")]

from bot.app import build_services  # noqa: E402
from bot.rasa_model import ensure_model  # noqa: E402
from bot.rest_client import RestClient  # noqa: E402
from bot.servers import Servers  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.speech import build_speech_service  # noqa: E402
from bot.store import queries  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.telegram.app import build_application  # noqa: E402
from fake_bot_api import FakeBotApi  # noqa: E402
from harness import BotThread, domain_with_transport_wording  # noqa: E402
from pilot import Policy, Step, act, reference, rest_sender, texts_of  # noqa: E402

TEST_CONFIG = ROOT / "tests" / "rasa" / "config.test.yml"


ANSWER_POOLS = (
    ("Friends and my cat", "Going to the park", "My job at the cafe", "Music and dancing",
     "Cooking with my mum"),
    ("Staff who listen to me", "Good staff", "A quiet room", "Money for the bus", "My sister"),
    ("Long waits and noise", "Busy buses", "Forms that are too long", "People who rush me",
     "Loud shops"),
)
SOUND_STEPS = {Step("press", "/sound_off"), Step("press", "/sound_on")}


def answers_for(number: int):
    """Three everyday answers; there are five sets, so some voice notes are new, most reused."""
    return [pool[number % 5] for pool in ANSWER_POOLS]


def percentile(values, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_latency(fake, rest: RestClient, domain: Path, pairs: int):
    """Each step done by a REST participant, then by a Telegram participant at the same point."""
    rest_ms, added_last, added_first = [], [], []
    for pair in range(pairs):
        policy = Policy(domain, answers_for(pair))
        send = rest_sender(rest.send, f"bench-rest-{pair}")
        user = fake.user(800000 + pair)
        steps = [Step("command", "start")]
        while steps:
            step = steps.pop(0)
            started = time.perf_counter()
            replies = send(step.rest_text)
            rest_ms.append((time.perf_counter() - started) * 1000)
            expected = texts_of(replies)
            before = len(fake.calls_to("sendMessage", chat_id=user.id))
            mark = len(user.texts())
            started = time.monotonic()
            act(user, step)
            last = fake.wait_for(lambda: _nth_call_time(fake, user.id, before + len(expected)),
                                 60, "the replies")
            first = _nth_call_time(fake, user.id, before + 1)
            added_last.append((last - started) * 1000 - rest_ms[-1])
            added_first.append((first - started) * 1000 - rest_ms[-1])
            fake.wait_for(lambda: len(user.texts()) >= mark + len(expected), 10, "the texts")
            assert user.texts()[mark:] == expected, f"Telegram and REST differ after {step}"
            steps = steps or policy.next_steps(replies)
    return rest_ms, added_first, added_last


def _nth_call_time(fake, chat_id: int, count: int):
    calls = [c for c in fake.calls if c.method == "sendMessage" and c.params.get("chat_id") == chat_id]
    return calls[count - 1].at if len(calls) >= count and calls[count - 1].status == 200 else None


def run_chat(fake, transcript, number: int, sound: bool):
    """One participant's whole conversation; returns each turn's time in ms and any problem."""
    user = fake.user(900000 + number)
    turns, repeated = [], False
    for step, replies in transcript:
        if step in SOUND_STEPS:
            step = Step("press", "/sound_on" if sound else "/sound_off")
        expected = texts_of(replies)
        mark = len(user.texts())
        started = time.monotonic()
        try:
            update = act(user, step)
            fake.wait_for(lambda: len(user.texts()) >= mark + len(expected), 900, "the replies")
        except AssertionError as error:
            return user, turns, [f"chat {number}: {step}: {error}"]
        turns.append((time.monotonic() - started) * 1000)
        if user.texts()[mark:] != expected:
            return user, turns, [f"chat {number}: after {step} got {user.texts()[mark:]}"]
        if step.kind == "say" and not repeated:
            repeated = True
            fake.push(dict(update), again=True)  # every first answer is delivered twice
    return user, turns, []


def crowd(fake, transcripts, chats: int):
    """Many participants at once, each replaying one of the reference conversations."""
    fake.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=chats) as pool:
        results = list(pool.map(lambda n: run_chat(fake, transcripts[n % 5], n, n % 2 == 0),
                                range(chats)))
    elapsed = time.monotonic() - started
    try:
        fake.wait_for(lambda: all(_voices_done(user, n % 2 == 0)
                                  for n, (user, _, problems) in enumerate(results)
                                  if not problems), 300, "voice notes")
    except AssertionError as error:
        results[0][2].append(str(error))
    return results, elapsed, time.monotonic() - started


def rest_crowd(rasa_url: str, transcripts, chats: int) -> float:
    """The same conversations straight through Rasa's REST channel, for comparison."""
    def talk(number: int) -> None:
        # Named "telegram" so Rasa says the same as to a Telegram chat (news is offered there
        # only); the requests still go straight through the REST channel.
        send = rest_sender(RestClient(rasa_url, channel="telegram", timeout=300).send,
                           f"bench-crowd-{number}")
        for step, _ in transcripts[number % 5]:
            send(step.rest_text)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=chats) as pool:
        list(pool.map(talk, range(chats)))
    return time.monotonic() - started


def _voices_done(user, sound: bool) -> bool:
    """True when every text has its voice note: all but the sound question, if sound is on."""
    return len(user.voices()) == (len(user.texts()) - 1 if sound else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20, help="participants for the latency run")
    parser.add_argument("--chats", type=int, default=100, help="participants at once")
    parser.add_argument("--rest-crowd", action="store_true",
                        help="also time the same crowd straight through the REST channel")
    parser.add_argument("--no-rate-limit", action="store_true",
                        help="switch off PTB's AIORateLimiter (Telegram's 30 messages a second)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="telegram-bench-"))
    settings = Settings.from_env(
        var_dir=work, database_url=f"sqlite:///{work / 'coproduce.db'}", hash_key="bench",
        tts="espeak", audio_dir=work / "audio",
        rasa_config=Path(os.environ.get("COPRODUCE_RASA_CONFIG", TEST_CONFIG)))
    upgrade(settings.database_url)
    servers = Servers(settings, ensure_model(settings), env={**os.environ, **settings.to_env()})
    print(f"Rasa and the action server on {settings.rasa_url} (scratch database in {work}); "
          f"voice: {settings.tts}", flush=True)
    servers.start()
    fake = FakeBotApi().start()
    bot = None
    try:
        domain = domain_with_transport_wording(work)
        settings = dataclasses.replace(settings, telegram_bot_token=fake.token,
                                       telegram_base_url=fake.url)
        services = build_services(settings)
        bot = BotThread(build_application(settings, services, speech=build_speech_service(settings),
                                          domain_path=domain, rate_limit=not args.no_rate_limit))
        bot.start()
        fake.wait_for(lambda: fake.calls_to("getUpdates"), 30, "polling")
        rest = RestClient(settings.rasa_url, channel="telegram")  # see rest_crowd
        report_latency(*measure_latency(fake, rest, domain, args.pairs), pairs=args.pairs)

        transcripts = [reference(rest_sender(rest.send, f"bench-reference-{n}"),
                                 Policy(domain, answers_for(n))) for n in range(5)]
        if args.rest_crowd:
            print(f"REST crowd: {args.chats} chats at once straight through the REST channel: "
                  f"{rest_crowd(settings.rasa_url, transcripts, args.chats):.1f} s", flush=True)
        print(f"Crowd: {args.chats} chats at once, each the whole conversation "
              f"({len(transcripts[0])} steps); half with sound on; every first answer delivered "
              f"twice; one 429; rate limiter {'off' if args.no_rate_limit else 'on (30/s)'}",
              flush=True)
        calls_before = len(fake.calls)
        results, elapsed, voices_done = crowd(fake, transcripts, args.chats)
        report_crowd(fake.calls[calls_before:], results, elapsed, voices_done, services, bot,
                     args.chats)
    finally:
        if bot is not None:
            bot.stop()
        fake.stop()
        servers.stop()


def report_latency(rest_ms, added_first, added_last, pairs: int) -> None:
    """Print the latency figures."""
    p50 = lambda values: percentile(values, .5)  # noqa: E731
    p90 = lambda values: percentile(values, .9)  # noqa: E731
    print(f"Latency: {pairs} REST and {pairs} Telegram participants in step, sound off, "
          f"{len(added_last)} turns (time until the message reaches the Bot API)")
    print(f"  REST channel turn:                    p50 {p50(rest_ms):6.1f} ms  p90 {p90(rest_ms):6.1f} ms")
    print(f"  added by Telegram, to first message:  p50 {p50(added_first):6.1f} ms  p90 {p90(added_first):6.1f} ms")
    print(f"  added by Telegram, to last message:   p50 {p50(added_last):6.1f} ms  p90 {p90(added_last):6.1f} ms"
          "  (a turn's messages go one after another)")
    print(f"  target p50 < 10 ms: first message {'met' if p50(added_first) < 10 else 'NOT met'}, "
          f"last message {'met' if p50(added_last) < 10 else 'NOT met'}", flush=True)


def report_crowd(calls, results, elapsed, voices_done, services, bot, chats: int) -> None:
    """Print the crowd figures and check every chat: answers stored once, every reply delivered."""
    problems = [problem for _, _, chat_problems in results for problem in chat_problems]
    for number, (user, _, _) in enumerate(results):
        stored = _answers(services, user)
        if stored != answers_for(number):
            problems.append(f"chat {number}: stored {stored}")
    turns = [t for _, chat_turns, _ in results for t in chat_turns]
    uploads = [c for c in calls if c.method == "sendVoice" and "voice" in c.files]
    by_id = [c for c in calls if c.method == "sendVoice" and "voice" not in c.files]
    print(f"  all conversations done in {elapsed:.1f} s; every voice note sent by {voices_done:.1f} s")
    print(f"  turn time under load: p50 {percentile(turns, .5):.0f} ms  p90 "
          f"{percentile(turns, .9):.0f} ms  max {max(turns):.0f} ms")
    print(f"  Bot API calls: {sum(c.method == 'sendMessage' for c in calls)} sendMessage, "
          f"{len(uploads)} voice uploads + {len(by_id)} voice notes by file_id, "
          f"{sum(c.method == 'editMessageReplyMarkup' for c in calls)} keyboard edits, "
          f"{sum(c.method == 'sendChatAction' for c in calls)} typing, "
          f"{sum(c.status == 429 for c in calls)} answered 429, "
          f"{sum(c.status >= 400 and c.status != 429 for c in calls)} other errors")
    print(f"  relay: {dict(bot.relay.counts)}; outbox: {dict(bot.outbox.counts)}")
    print(f"  {chats} chats: every answer stored once and every reply delivered: "
          + ("YES" if not problems else f"NO ({len(problems)} problems)\n    "
             + "\n    ".join(problems[:20])))


def _answers(services, user):
    sender = services.pseudonymizer.pseudonym(str(user.id), channel="telegram")
    with services.sessions() as session:
        participant = queries.get_participant(session, pseudonym=services.conversation.pseudonym(sender))
        return [a.text for a in queries.answers_for(session, participant=participant)] \
            if participant else []


if __name__ == "__main__":
    main()
