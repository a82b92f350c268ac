"""Slowing down guesses: failed logins and wrong tokens counted per client address.

Each failure (a wrong token at /login or /api/login, a wrong `Authorization: Bearer`)
is remembered for LIPFORGE_AUTH_FAILURE_WINDOW_S. An address with
LIPFORGE_AUTH_MAX_FAILURES failures in that window gets 429 with Retry-After on every
attempt to authenticate (right or wrong: otherwise the answer would tell a guesser when it
is right) until its oldest failure leaves the window. A valid session cookie is not an
attempt and is never slowed. The count lives in this process's memory: a restart forgets
it, and several API processes each count on their own.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

from lipforge.api.errors import TooManyFailuresError
from lipforge.config import Settings

MAX_TRACKED_ADDRESSES = 10_000
UNKNOWN_CLIENT = "unknown"


class FailureThrottle:
    """Failure times per client address, bounded in memory."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max(1, max_failures)
        self.window_s = window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> FailureThrottle:
        return cls(settings.auth_max_failures, settings.auth_failure_window_s)

    def _recent(self, address: str, now_s: float) -> deque[float]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and times[0] <= now_s - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
        return times

    def check(self, address: str, now_s: float | None = None) -> None:
        """Raise TooManyFailuresError when `address` may not try again yet."""
        now_s = time.monotonic() if now_s is None else now_s
        times = self._recent(address, now_s)
        if len(times) < self.max_failures:
            return
        wait_s = max(1, math.ceil(times[0] + self.window_s - now_s))
        raise TooManyFailuresError(
            f"Too many failed logins or wrong tokens from {address} "
            f"({len(times)} in {self.window_s:g} s). Try again in {wait_s} s.",
            client=address,
            failures=len(times),
            window_s=self.window_s,
            retry_after_s=wait_s,
        )

    def record_failure(self, address: str, now_s: float | None = None) -> None:
        now_s = time.monotonic() if now_s is None else now_s
        times = self._recent(address, now_s)
        times.append(now_s)
        self._failures[address] = times
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_TRACKED_ADDRESSES:
            self._failures.popitem(last=False)


def client_address(scope) -> str:
    """The caller's address (uvicorn puts the proxy's X-Forwarded-For here when trusted)."""
    client = scope.get("client")
    return str(client[0]) if client else UNKNOWN_CLIENT


def throttle_for(state, settings: Settings) -> FailureThrottle:
    """The app's one throttle, kept on `app.state`."""
    throttle = getattr(state, "auth_throttle", None)
    if throttle is None:
        throttle = FailureThrottle.from_settings(settings)
        state.auth_throttle = throttle
    return throttle
