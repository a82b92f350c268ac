"""A client for the transcription servers users run: OpenAI's `POST /v1/audio/transcriptions`.

faster-whisper-server (speaches), whisper.cpp's server (started with `--request-path /v1
--inference-path /audio/transcriptions`), SenseVoice/FunASR wrappers and OpenAI itself take
a multipart form (`file`, `model`, `response_format=json`, optional `language`) and answer
`{"text": ...}`. `TranscriptionServer(settings).transcribe(wav_bytes)` sends one piece of
audio and gives back its text. Every request is held to `transfer.TransferLimits` (a
`BudgetTransport` under the client): an overall deadline, a minimum rate for the answer's
body once it flows, and a byte limit on it. 5xx, 429, timeouts and dropped
connections are retried with backoff (the voices' `speech_attempts`); a 4xx is not. Every
failure is a `TranscriptionError` whose message quotes the server with secrets redacted.
This module does not cut audio into pieces, cache, or align (`render/transcript_stage.py`).
"""

from __future__ import annotations

import json
import os
import threading
import time

import httpx

from lipforge.config import Settings
from lipforge.errors import LipforgeError
from lipforge.speech.httpclient import server_said
from lipforge.transfer import (
    BUDGET_EXTENSION,
    BudgetTransport,
    TransferBudget,
    TransferLimitError,
    TransferLimits,
)

TRANSCRIPTIONS_PATH = "/audio/transcriptions"
CONNECT_TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 1024 * 1024  # a 60 s piece says ~1 kB; a larger answer is not a transcript
MIN_ANSWER_RATE_BPS = 512.0  # once the answer's body started, below this it is trickling
RATE_WINDOW_S = 2.0  # the rate is judged over windows this long (an answer comes in one go)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_S = 0.5
MAX_QUOTED_CHARS = 300
REDACTED = "[redacted]"


class TranscriptionError(LipforgeError):
    """Raised when a transcription server refuses, errors, times out, trickles or is unreachable."""

    code = "transcription_failed"
    http_status = 502
    exit_code = 7


class TranscriptionAnswerError(TranscriptionError):
    """Raised when a transcription server answers 2xx with something that is not `{"text": ...}`."""

    code = "transcription_bad_answer"


class TranscriptionKeyMissingError(TranscriptionError):
    """Raised when LIPFORGE_TRANSCRIBE_API_KEY_ENV names a variable the worker does not have."""

    code = "transcription_key_missing"
    http_status = 409


class TranscriptionServer:
    """One configured server; `transcribe(wav)` -> text. Thread-safe; one request at a time."""

    def __init__(self, settings: Settings) -> None:
        self.endpoint = settings.transcribe_url.rstrip("/")
        self.base_url = _without_userinfo(self.endpoint)  # the name said in messages
        self.model = settings.transcribe_model
        self.language = settings.transcribe_language
        self.deadline_s = settings.transcribe_timeout_s
        self.attempts = max(1, settings.speech_attempts)
        self._key = _api_key(settings.transcribe_api_key_env)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.endpoint + TRANSCRIPTIONS_PATH

    def transcribe(self, wav: bytes) -> str:
        """The text the server hears in `wav`; TranscriptionError after the last failed try."""
        failure: TranscriptionError | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(wav)
            except _Retryable as exc:
                failure = exc.error
            if attempt < self.attempts:
                time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        assert failure is not None
        raise failure

    def _once(self, wav: bytes) -> str:
        with self._lock:
            status, body = self._post(wav)
        return self._text(status, body)

    def _post(self, wav: bytes) -> tuple[int, bytes]:
        """One request, held to its TransferLimits (deadline, minimum rate, byte limit)."""
        form = {"model": self.model, "response_format": "json"}
        if self.language:
            form["language"] = self.language
        files = {"file": ("audio.wav", wav, "audio/wav")}
        limits = TransferLimits(
            self.deadline_s, MIN_ANSWER_RATE_BPS, RATE_WINDOW_S, MAX_ANSWER_BYTES
        )
        budget = {BUDGET_EXTENSION: TransferBudget(limits)}
        timeout = httpx.Timeout(self.deadline_s, connect=min(CONNECT_TIMEOUT_S, self.deadline_s))
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        transport = BudgetTransport(httpx.HTTPTransport())
        try:
            with httpx.Client(
                transport=transport, timeout=timeout, headers=headers, follow_redirects=True
            ) as client:
                response = client.post(self.url, data=form, files=files, extensions=budget)
                return response.status_code, response.content
        except TransferLimitError as exc:
            said = self.redacted(str(exc))
            raise _Retryable(self._failed(said, reason="slow", detail=said)) from None
        except httpx.TimeoutException:
            raise _Retryable(self._late()) from None
        except httpx.HTTPError as exc:
            raise _Retryable(self._failed(f"could not be reached ({exc})", reason="down")) from None

    def _text(self, status: int, body: bytes) -> str:
        said = self.redacted(_quoted(body))
        if status in RETRY_STATUSES:
            raise _Retryable(self._failed(f"answered {status}: {said}", status=status, detail=said))
        if not 200 <= status < 300:
            raise self._failed(
                f"refused the piece with {status}: {said}", status=status, detail=said
            )
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("text"), str):
            return answer["text"].strip()
        if isinstance(answer, dict) and answer.get("error"):  # whisper.cpp answers 200 {"error"}
            raise self._failed(f"answered an error: {said}", status=status, detail=said)
        raise TranscriptionAnswerError(
            f"Transcription server at {self.base_url} answered without a transcript "
            f'(expected {{"text": ...}}): {said}',
            url=self.base_url,
            detail=said,
        )

    def _late(self) -> TranscriptionError:
        return self._failed(
            f"did not answer within {self.deadline_s:g} s",
            reason="timeout",
            timeout_s=self.deadline_s,
        )

    def _failed(self, what: str, **params: object) -> TranscriptionError:
        return TranscriptionError(
            f"Transcription server at {self.base_url} {what}",
            url=self.base_url,
            attempts=self.attempts,
            **params,
        )

    def redacted(self, text: str) -> str:
        return text.replace(self._key, REDACTED) if self._key else text


class _Retryable(Exception):
    def __init__(self, error: TranscriptionError) -> None:
        super().__init__(str(error))
        self.error = error


def _without_userinfo(url: str) -> str:
    try:
        return str(httpx.URL(url).copy_with(userinfo=b""))
    except httpx.InvalidURL:
        return url


def _api_key(variable: str) -> str:
    if not variable:
        return ""
    key = os.environ.get(variable, "")
    if not key:
        raise TranscriptionKeyMissingError(
            f"LIPFORGE_TRANSCRIBE_API_KEY_ENV names {variable}, which is not set for the "
            "worker process. Set it and restart.",
            variable=variable,
        )
    return key


def _quoted(body: bytes) -> str:
    """What the server said, in the JSON shapes servers use (OpenAI, FastAPI, whisper.cpp)."""
    response = httpx.Response(200, content=body)
    return server_said(response)[:MAX_QUOTED_CHARS] if body else "(empty body)"


__all__ = [
    "MAX_ANSWER_BYTES",
    "TranscriptionAnswerError",
    "TranscriptionError",
    "TranscriptionKeyMissingError",
    "TranscriptionServer",
]
