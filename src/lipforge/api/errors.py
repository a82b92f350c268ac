"""The access guard's refusals: a foreign Host, a foreign Origin, too many failed logins.

LipforgeError
 +-- MisdirectedHostError   an open server was reached under a host name it does not answer as (421)
 +-- ForeignOriginError     a state-changing request riding on a cookie came from another site (403)
 +-- TooManyFailuresError   this client address failed to authenticate too often (429)

A missing or wrong token is the shared `AuthError` (401). Each class is raised by the
middleware in `auth.py` and answered as `exc.to_json()`; nothing else raises them.
"""

from __future__ import annotations

from lipforge.errors import LipforgeError


class MisdirectedHostError(LipforgeError):
    """Raised when an open (token-less) server gets a Host header that is not loopback or allowed.

    A page on another site can make a browser send requests here under its own name
    (DNS rebinding); refusing unknown names stops it from reading or changing anything.
    """

    code = "misdirected_host"
    http_status = 421
    exit_code = 5


class ForeignOriginError(LipforgeError):
    """Raised when a POST/PUT/PATCH/DELETE authenticated by the browser cookie (or by the open
    mode's loopback trust) comes from another origin, another port of this host included."""

    code = "foreign_origin"
    http_status = 403
    exit_code = 5


class TooManyFailuresError(LipforgeError):
    """Raised when a client address has failed to log in or give a token too often lately."""

    code = "too_many_failures"
    http_status = 429
    exit_code = 5

    @property
    def retry_after_s(self) -> int:
        wait_s = self.params.get("retry_after_s")
        return int(wait_s) if isinstance(wait_s, int | float) and wait_s > 0 else 1
