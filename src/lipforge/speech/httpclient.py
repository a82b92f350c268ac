"""One HTTP client for the TTS servers users run: redirects, retries with backoff, plain failures.

`TtsHttpClient(label, base_url, context, headers, engine).post(path, ...)` follows redirects,
retries 5xx answers, 429, timeouts and dropped connections with exponential backoff (up to the
context's attempts), and turns every failure into a `SpeechServerError` whose message names
the server and quotes what it said: "CosyVoice at http://gpu2:50000 answered 500 three
times: out of memory". A 4xx other than 429 is not retried: the request itself is wrong.
Each attempt is held to `transfer.TransferLimits` (a `BudgetTransport` under the client):
the whole answer within the context's timeout, at least `MIN_ANSWER_RATE_BPS` once it
flows, at most `answer_limit_bytes(text)` bytes; so an endless or trickling answer ends
with a reason instead of filling memory or holding the job.
The adapters (`cosyvoice.py`, `fishspeech.py`, `openaitts.py`) know their servers' shapes.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import time

import httpx

from lipforge.retry import NO_JITTER, Backoff
from lipforge.speech.engines import EngineContext
from lipforge.speech.errors import SpeechKeyMissingError, SpeechServerError
from lipforge.speech.urlguard import VoiceUrlTransport, parse_allowed
from lipforge.speech.voices import Voice, check_key_variable
from lipforge.transfer import (
    BUDGET_EXTENSION,
    BudgetTransport,
    TransferBudget,
    TransferLimitError,
    TransferLimits,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_QUOTED_CHARS = 300
CONNECT_TIMEOUT_S = 10.0
MIN_ANSWER_RATE_BPS = 8 * 1024
RATE_WINDOW_S = 20.0
ANSWER_BYTES_PER_CHAR = 192_000  # one second of 48 kHz 32-bit audio for each character
ANSWER_OVERHEAD_BYTES = 1024 * 1024  # headers, JSON error bodies, a container's metadata
MIN_SECRET_CHARS = 3  # shorter keys are not searched for in messages
REDACTED = "[redacted]"
TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def times(count: int) -> str:
    return TIMES.get(count, f"{count} times")


def api_key_header(voice: Voice, label: str, required_prefix: str = "") -> dict[str, str]:
    """`Authorization: Bearer <key>` from the env var the voice names; {} when it names none.
    LipForge's own secrets are never sent (`voices.check_key_variable`)."""
    if not voice.api_key_env:
        return {}
    check_key_variable(voice, required_prefix)
    key = os.environ.get(voice.api_key_env)
    if not key:
        raise SpeechKeyMissingError(
            f"Voice {voice.name!r} reads its {label} API key from the environment variable "
            f"{voice.api_key_env}, which is not set where the speech is made: export it in "
            "this shell for `lipforge say` and `lipforge run`, or in the environment of "
            "`lipforge serve` and its workers (then restart them).",
            voice=voice.name,
            variable=voice.api_key_env,
        )
    return {"Authorization": f"Bearer {key}"}


def answer_limit_bytes(text: str) -> int:
    """The most a TTS server may answer for `text`: far above any real speech of it."""
    return ANSWER_OVERHEAD_BYTES + ANSWER_BYTES_PER_CHAR * len(text)


def server_said(response: httpx.Response) -> str:
    """The reason a server gave, from the JSON shapes TTS servers use, or its text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:MAX_QUOTED_CHARS] or "(empty body)"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):  # OpenAI
            return str(error["message"])[:MAX_QUOTED_CHARS]
        for key in ("message", "detail", "error"):  # fish-speech, FastAPI
            if body.get(key):
                return str(body[key])[:MAX_QUOTED_CHARS]
    return str(body)[:MAX_QUOTED_CHARS]


# What the operating system said, as a word the UI translates (`cause`): its own sentence
# ("[Errno 111] Connection refused") stays in `reason` for the logs and the English message.
CAUSE_ERRNOS = {
    errno.ECONNREFUSED: "refused",
    errno.ECONNRESET: "reset",
    errno.EHOSTUNREACH: "unreachable",
    errno.ENETUNREACH: "unreachable",
}
CAUSE_WORDS = (
    ("connection refused", "refused"),
    ("name or service not known", "dns"),
    ("temporary failure in name resolution", "dns"),
    ("nodename nor servname", "dns"),
    ("connection reset", "reset"),
    ("no route to host", "unreachable"),
    ("network is unreachable", "unreachable"),
)


def connect_cause(exc: BaseException) -> dict[str, str]:
    """{"cause": refused|dns|reset|unreachable} for a connection failure whose cause is one of
    those (read from the exception chain, else from its words); {} otherwise."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return {"cause": "dns"}
        if isinstance(seen, OSError) and seen.errno in CAUSE_ERRNOS:
            return {"cause": CAUSE_ERRNOS[seen.errno]}
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return next(({"cause": cause} for words, cause in CAUSE_WORDS if words in text), {})


class TtsHttpClient:
    def __init__(
        self,
        label: str,
        base_url: str,
        context: EngineContext,
        headers: dict | None = None,
        engine: str = "",
    ) -> None:
        self.label = label
        self.engine = engine  # the registered name: the UI shows the engine in its language
        self.base_url = base_url.rstrip("/")
        self.context = context
        connect_s = min(CONNECT_TIMEOUT_S, context.timeout_s)
        timeout = httpx.Timeout(context.timeout_s, connect=connect_s)
        self._client = httpx.Client(
            base_url=self.base_url,
            follow_redirects=True,
            timeout=timeout,
            headers=headers or {},
            transport=BudgetTransport(VoiceUrlTransport(parse_allowed(context.url_allow))),
        )
        self._secrets = [
            value.removeprefix("Bearer ")
            for name, value in (headers or {}).items()
            if name.lower() == "authorization" and len(value) > len("Bearer ") + MIN_SECRET_CHARS
        ]

    @property
    def where(self) -> str:
        return f"{self.label} at {self.base_url}"

    def post(self, path: str, max_answer_bytes: int, **request) -> httpx.Response:
        """The first 2xx answer; SpeechServerError after a refusal or the last failed attempt.
        No message or param of the error holds the API key, even when the server echoed it."""
        try:
            return self._post(path, max_answer_bytes, **request)
        except SpeechServerError as exc:
            raise self._redacted(exc) from exc.__cause__

    def _redacted(self, exc: SpeechServerError) -> SpeechServerError:
        if not any(secret in str(exc) or secret in str(exc.params) for secret in self._secrets):
            return exc
        params = {key: self.redact(value) for key, value in exc.params.items()}
        return type(exc)(self.redact(str(exc)), **params)

    def redact(self, value):
        if not isinstance(value, str):
            return value
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return value

    def _post(self, path: str, max_answer_bytes: int, **request) -> httpx.Response:
        attempts = max(1, self.context.attempts)
        backoff = Backoff(self.context.backoff_s, max_delay_s=math.inf, jitter=NO_JITTER)
        failure, params = "", {}
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.post(
                    path, extensions=self._budget(max_answer_bytes), **request
                )
            except TransferLimitError as exc:
                raise SpeechServerError(
                    f"{self.where} {exc}; its answer was not used.",
                    server=self.label,
                    engine=self.engine,
                    url=self.base_url,
                    reason=str(exc),
                ) from exc
            except httpx.TimeoutException:
                waited = f"{self.context.timeout_s:g} s"
                failure = f"did not answer within {waited}, tried {times(attempts)}"
                params = {"timeout_s": self.context.timeout_s}
            except httpx.TransportError as exc:
                failure = f"could not be reached, tried {times(attempts)} ({exc})"
                params = {"reason": str(exc), **connect_cause(exc)}
            else:
                if response.is_success:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise self._refused(response)
                said = server_said(response)
                failure = f"answered {response.status_code} {times(attempts)}: {said}"
                params = {"status": response.status_code, "detail": said}
            if attempt < attempts:
                time.sleep(backoff.delay_s(attempt))
        raise SpeechServerError(
            f"{self.where} {failure}",
            server=self.label,
            engine=self.engine,
            url=self.base_url,
            attempts=attempts,
            **params,
        )

    def _budget(self, max_answer_bytes: int) -> dict:
        timeout_s = self.context.timeout_s
        window_s = min(RATE_WINDOW_S, timeout_s / 3)
        limits = TransferLimits(timeout_s, MIN_ANSWER_RATE_BPS, window_s, max_answer_bytes)
        return {BUDGET_EXTENSION: TransferBudget(limits)}

    def _refused(self, response: httpx.Response) -> SpeechServerError:
        return SpeechServerError(
            f"{self.where} refused the request with {response.status_code}: "
            f"{server_said(response)}",
            server=self.label,
            engine=self.engine,
            url=self.base_url,
            status=response.status_code,
            detail=server_said(response),
        )

    def close(self) -> None:
        self._client.close()
