"""Waiting in tests: one `wait_until` that polls a condition and names what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_INTERVAL_S = 0.05


def wait_until(
    condition: Callable[[], T | None],
    what: str,
    timeout_s: float = 10.0,
    interval_s: float = POLL_INTERVAL_S,
) -> T:
    """The first truthy value of `condition()`; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        if result := condition():
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
