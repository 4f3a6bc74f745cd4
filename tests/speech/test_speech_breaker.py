"""The circuit breaker's states, driven by a hand-wound clock."""
from bot.speech.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def test_breaker_opens_then_allows_one_trial_after_cooldown():
    now = [100.0]
    breaker = CircuitBreaker(cooldown=300, clock=lambda: now[0])
    assert breaker.allow()
    breaker.failed()
    assert breaker.state == OPEN and not breaker.allow()
    now[0] += 300
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # only one trial at a time
    breaker.failed()
    assert not breaker.allow()
    now[0] += 300
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == CLOSED and breaker.allow()


def test_unused_trial_is_given_back():
    now = [0.0]
    breaker = CircuitBreaker(cooldown=10, clock=lambda: now[0])
    breaker.failed()
    now[0] = 10
    assert breaker.allow()
    breaker.skipped()
    assert breaker.allow()
