"""A circuit breaker so nobody waits on a voice service that has just failed."""
from __future__ import annotations

import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    """Stops calls for `cooldown` seconds after a failure, then lets one trial call through."""

    def __init__(self, cooldown: float, clock: Callable[[], float] = time.monotonic):
        self.cooldown = cooldown
        self.clock = clock
        self.state = CLOSED
        self.opened_at = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether a call may go ahead now; after the cooldown only one trial call is allowed."""
        with self._lock:
            if self.state == CLOSED:
                return True
            if self.state == OPEN and self.clock() - self.opened_at >= self.cooldown:
                self.state = HALF_OPEN
                return True
            return False

    def succeeded(self) -> None:
        """Record a working call, which closes the breaker."""
        with self._lock:
            self.state = CLOSED

    def failed(self) -> None:
        """Record a failed call, which opens the breaker for another cooldown."""
        with self._lock:
            self.state = OPEN
            self.opened_at = self.clock()

    def skipped(self) -> None:
        """Give back a trial call that was never made, so the next caller can try."""
        with self._lock:
            if self.state == HALF_OPEN:
                self.state = OPEN
                self.opened_at = self.clock() - self.cooldown
