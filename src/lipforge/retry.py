"""Retry with backoff, written once: how long to wait before the next try, and when to stop.

`Backoff` is the policy: the first delay, its growth and cap, and the jitter (a random
fraction of the delay, so that many clients do not try again at the same instant; full
jitter, uniform in [0, delay], is the default). `RetryBudget` counts the failed tries since
the last progress against a number of tries and/or a time budget, both reset by
`progressed()`, and answers the wait before the next try, or None once the budget is spent.
`pause(delay_s, stop)` waits unless a stop event is set first.

Not here: which failures are worth another try, the messages given when a budget is spent,
or any network code: each client (model downloads, speech servers, uploads, the CLI's
server calls) owns those.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_FIRST_DELAY_S = 0.5
DEFAULT_MAX_DELAY_S = 30.0
DEFAULT_GROWTH = 2.0  # each failed try doubles the delay, up to the cap
FULL_JITTER = (0.0, 1.0)  # uniform in [0, delay] (AWS's "full jitter")
HALF_JITTER = (0.5, 1.5)  # uniform in [delay / 2, 1.5 * delay]
NO_JITTER = (1.0, 1.0)
MAX_GROWTH_STEPS = 64  # past this many growths the cap was reached long ago (no float overflow)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: try n waits `first_delay_s * growth**(n-1)`, capped, then jittered."""

    first_delay_s: float = DEFAULT_FIRST_DELAY_S
    max_delay_s: float = DEFAULT_MAX_DELAY_S
    growth: float = DEFAULT_GROWTH
    jitter: tuple[float, float] = FULL_JITTER  # the delay is multiplied by uniform(low, high)

    def ceiling_s(self, failures: int) -> float:
        """The delay after `failures` failed tries in a row (1 or more), before jitter."""
        exponent = min(max(0, failures - 1), MAX_GROWTH_STEPS)
        return min(self.max_delay_s, self.first_delay_s * self.growth**exponent)

    def delay_s(self, failures: int) -> float:
        """The wait after `failures` failed tries in a row, jitter included."""
        low, high = self.jitter
        return self.ceiling_s(failures) * random.uniform(low, high)


@dataclass
class RetryBudget:
    """Failed tries since the last progress, against `max_tries` and/or `patience_s`.

    `max_tries` counts every try, the first included: with 3, the third failure spends the
    budget. `patience_s` runs from the first failure since the last progress; the last wait
    is shortened so it ends when the patience does.
    """

    backoff: Backoff = field(default_factory=Backoff)
    max_tries: int | None = None
    patience_s: float | None = None
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    failing_since: float | None = None

    def progressed(self) -> None:
        """Something worked (bytes arrived, the server answered): the budget starts again."""
        self.failures, self.failing_since = 0, None

    def next_delay_s(self) -> float | None:
        """Count one failed try; the wait before the next one, or None when the budget is spent."""
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = self.clock()
        if self.max_tries is not None and self.failures >= self.max_tries:
            return None
        left_s = self.left_s()
        if left_s <= 0:
            return None
        return min(self.backoff.delay_s(self.failures), left_s)

    def left_s(self) -> float:
        """Seconds of patience left (infinite without `patience_s`)."""
        if self.patience_s is None:
            return math.inf
        if self.failing_since is None:
            return self.patience_s
        return self.patience_s - (self.clock() - self.failing_since)


def pause(delay_s: float, stop: threading.Event | None = None) -> bool:
    """Wait `delay_s` seconds, or less when `stop` is set meanwhile; True when it was set."""
    if stop is None:
        time.sleep(delay_s)
        return False
    return stop.wait(delay_s)
