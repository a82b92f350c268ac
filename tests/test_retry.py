"""The one retry helper: waits that double up to a cap, jitter within its bounds, a budget of
tries or of time that progress resets, and a wait that a stop event cuts short."""

from __future__ import annotations

import threading
import time

from lipforge.retry import FULL_JITTER, HALF_JITTER, NO_JITTER, Backoff, RetryBudget, pause

SAMPLES = 400
LONG_OUTAGE_TRIES = 5000  # a client spinning on a fake clock: far past float's 2**1024


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_waits_double_from_the_first_delay_up_to_the_cap() -> None:
    backoff = Backoff(first_delay_s=1.0, max_delay_s=15.0, jitter=NO_JITTER)
    assert [backoff.delay_s(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_full_jitter_spreads_each_wait_over_zero_to_its_ceiling() -> None:
    backoff = Backoff(first_delay_s=1.0, max_delay_s=30.0, jitter=FULL_JITTER)
    delays = [backoff.delay_s(3) for _ in range(SAMPLES)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert min(delays) < 1.0 and max(delays) > 3.0  # spread, not one fixed wait


def test_half_jitter_keeps_each_wait_within_half_and_one_and_a_half_times() -> None:
    backoff = Backoff(first_delay_s=0.5, max_delay_s=30.0, jitter=HALF_JITTER)
    delays = [backoff.delay_s(2) for _ in range(SAMPLES)]
    assert all(0.5 <= d <= 1.5 for d in delays)
    assert min(delays) < 0.75 and max(delays) > 1.25


def test_a_budget_of_tries_is_spent_by_the_last_try_and_reset_by_progress() -> None:
    budget = RetryBudget(Backoff(1.0, 30.0, jitter=NO_JITTER), max_tries=3)
    assert budget.next_delay_s() == 1.0
    assert budget.next_delay_s() == 2.0
    budget.progressed()
    assert budget.next_delay_s() == 1.0  # the growth starts over too
    assert budget.next_delay_s() == 2.0
    assert budget.next_delay_s() is None
    assert budget.failures == 3


def test_a_budget_of_time_shortens_the_last_wait_and_ends_with_the_patience() -> None:
    clock = FakeClock()
    budget = RetryBudget(Backoff(4.0, 30.0, jitter=NO_JITTER), patience_s=10.0, clock=clock)
    assert budget.left_s() == 10.0
    assert budget.next_delay_s() == 4.0
    clock.now_s += 4.0
    assert budget.next_delay_s() == 6.0  # 8 s would outlast the patience: 6 s are left
    clock.now_s += 6.0
    assert budget.next_delay_s() is None
    budget.progressed()
    assert budget.left_s() == 10.0
    assert budget.next_delay_s() == 4.0


def test_without_limits_the_budget_never_runs_out() -> None:
    budget = RetryBudget(Backoff(0.5, 30.0, jitter=NO_JITTER))
    delays = [budget.next_delay_s() for _ in range(LONG_OUTAGE_TRIES)]
    assert delays[-1] == 30.0


def test_a_stop_event_cuts_the_wait_short() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    started_s = time.monotonic()
    assert pause(30.0, stop) is True
    assert time.monotonic() - started_s < 5.0
    assert pause(0.01, threading.Event()) is False
