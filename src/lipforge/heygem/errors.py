"""Errors of the HeyGem drop-in; each names the HeyGem answer code it is carried in.

LipforgeError
 +-- HeygemError                 carries `answer_code` (contract.AnswerCode)
      +-- BadParameterError      a field is missing or malformed (10002)
      +-- InputRefusedError      a path leaves the root, a file:// URL, no such file (10002)
      +-- FetchRefusedError      a URL resolves to an address that may not be fetched (10002)
      +-- FetchFailedError       a download failed (HTTP error, network) (10002)
      +-- FetchTooLargeError     a download is larger than LIPFORGE_HEYGEM_MAX_FETCH_BYTES (10002)
      +-- VoiceUnavailableError  /v1/invoke has no voice to speak with (HTTP 503)

The routes answer them as HeyGem does, in the body of an HTTP 200:
`{"code": 10002, "success": false, "msg": <message>, "data": {"error": code, "params": …}}`.
"""

from __future__ import annotations

from lipforge.errors import LipforgeError
from lipforge.heygem.contract import AnswerCode


class HeygemError(LipforgeError):
    """Root of the drop-in's errors; `answer_code` is the HeyGem code that carries it."""

    code = "heygem_error"
    http_status = 422
    answer_code = AnswerCode.BAD_PARAMETER


class BadParameterError(HeygemError):
    """Raised when the submit body is not JSON, or a field is missing or malformed."""

    code = "heygem_bad_parameter"


class InputRefusedError(HeygemError):
    """Raised when an input path leaves the HeyGem root, names no file, or is a file:// URL."""

    code = "heygem_input_refused"


class FetchRefusedError(HeygemError):
    """Raised when a URL (or a redirect) leads to a loopback, private or link-local address."""

    code = "heygem_fetch_refused"


class FetchFailedError(HeygemError):
    """Raised when an audio_url / video_url download fails."""

    code = "heygem_fetch_failed"


class FetchTooLargeError(HeygemError):
    """Raised when a download is (or announces itself) larger than the configured limit."""

    code = "heygem_fetch_too_large"


class VoiceUnavailableError(HeygemError):
    """Raised when /v1/invoke cannot find the voice it is configured to speak with."""

    code = "heygem_voice_unavailable"
    http_status = 503
    answer_code = AnswerCode.SYSTEM_ERROR
