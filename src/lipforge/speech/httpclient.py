"""One HTTP client for the TTS servers users run: redirects, retries with backoff, plain failures.

`TtsHttpClient(label, base_url, context, headers).post(path, ...)` follows redirects, retries
5xx answers, 429, timeouts and dropped connections with exponential backoff (up to the
context's attempts), and turns every failure into a `SpeechServerError` whose message names
the server and quotes what it said: "CosyVoice at http://gpu2:50000 answered 500 three
times: out of memory". A 4xx other than 429 is not retried: the request itself is wrong.
The adapters (`cosyvoice.py`, `fishspeech.py`, `openaitts.py`) know their servers' shapes.
"""

from __future__ import annotations

import math
import os
import time

import httpx

from lipforge.retry import NO_JITTER, Backoff
from lipforge.speech.engines import EngineContext
from lipforge.speech.errors import SpeechKeyMissingError, SpeechServerError
from lipforge.speech.voices import Voice

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_QUOTED_CHARS = 300
CONNECT_TIMEOUT_S = 10.0
TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def times(count: int) -> str:
    return TIMES.get(count, f"{count} times")


def api_key_header(voice: Voice, label: str) -> dict[str, str]:
    """`Authorization: Bearer <key>` from the env var the voice names; {} when it names none."""
    if not voice.api_key_env:
        return {}
    key = os.environ.get(voice.api_key_env)
    if not key:
        raise SpeechKeyMissingError(
            f"Voice {voice.name!r} reads its {label} API key from the environment variable "
            f"{voice.api_key_env}, which is not set for the server/worker process. Set it and "
            "restart.",
            voice=voice.name,
            variable=voice.api_key_env,
        )
    return {"Authorization": f"Bearer {key}"}


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


class TtsHttpClient:
    def __init__(
        self, label: str, base_url: str, context: EngineContext, headers: dict | None = None
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.context = context
        connect_s = min(CONNECT_TIMEOUT_S, context.timeout_s)
        timeout = httpx.Timeout(context.timeout_s, connect=connect_s)
        self._client = httpx.Client(
            base_url=self.base_url, follow_redirects=True, timeout=timeout, headers=headers or {}
        )

    @property
    def where(self) -> str:
        return f"{self.label} at {self.base_url}"

    def post(self, path: str, **request) -> httpx.Response:
        """The first 2xx answer; SpeechServerError after a refusal or the last failed attempt."""
        attempts = max(1, self.context.attempts)
        backoff = Backoff(self.context.backoff_s, max_delay_s=math.inf, jitter=NO_JITTER)
        failure, params = "", {}
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.post(path, **request)
            except httpx.TimeoutException:
                waited = f"{self.context.timeout_s:g} s"
                failure = f"did not answer within {waited}, tried {times(attempts)}"
                params = {"timeout_s": self.context.timeout_s}
            except httpx.TransportError as exc:
                failure = f"could not be reached, tried {times(attempts)} ({exc})"
                params = {"reason": str(exc)}
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
            url=self.base_url,
            attempts=attempts,
            **params,
        )

    def _refused(self, response: httpx.Response) -> SpeechServerError:
        return SpeechServerError(
            f"{self.where} refused the request with {response.status_code}: "
            f"{server_said(response)}",
            server=self.label,
            url=self.base_url,
            status=response.status_code,
            detail=server_said(response),
        )

    def close(self) -> None:
        self._client.close()
