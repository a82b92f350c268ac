"""Every failure of the speech room a user can hit: voices, scripts and speech engines.

LipforgeError
 +-- VoiceNotFoundError       a name names no voice (404)
 +-- VoiceExistsError         a new voice takes a name already used (409)
 +-- InvalidVoiceError        a voice's settings cannot be used (unknown engine, no URL...) (422)
 |    +-- VoiceUrlRefusedError a voice's server is at a link-local or metadata address (422)
 +-- BuiltinVoiceError        a built-in voice cannot be removed or replaced (409)
 +-- EmptyScriptError         a script holds nothing to say (422)
 +-- SpeechEngineMissingError the engine's program or package is not installed here (409)
 +-- SpeechLanguageError      the voice does not speak the script's language (422)
 +-- SpeechKeyMissingError    the env var named for a voice's API key is unset on the server (409)
 +-- SpeechServerError        a TTS server failed: refused, errored, timed out, unreachable (502)
      +-- SpeechAudioError    a TTS server answered, but not with usable audio (empty, wrong rate)

Each is raised with keyword params naming the values its English message names, so a UI
can say the same sentence in another language from `code` + `params`.
"""

from __future__ import annotations

from lipforge.errors import LipforgeError


class VoiceNotFoundError(LipforgeError):
    """Raised when a voice name names no built-in or stored voice."""

    code = "voice_not_found"
    http_status = 404
    exit_code = 2


class VoiceExistsError(LipforgeError):
    """Raised when a voice is added under a name already taken."""

    code = "voice_exists"
    http_status = 409


class InvalidVoiceError(LipforgeError):
    """Raised when a voice's engine, URL, speed, rate or reference cannot be used."""

    code = "invalid_voice"
    http_status = 422
    exit_code = 2


class VoiceUrlRefusedError(InvalidVoiceError):
    """Raised when a voice's server resolves to a link-local or cloud metadata address."""

    code = "voice_url_refused"


class BuiltinVoiceError(LipforgeError):
    """Raised when a built-in voice is to be removed or replaced."""

    code = "builtin_voice"
    http_status = 409


class EmptyScriptError(LipforgeError):
    """Raised when a script has no words to speak."""

    code = "empty_script"
    http_status = 422
    exit_code = 2


class SpeechEngineMissingError(LipforgeError):
    """Raised when a speech engine's program or Python package is not installed."""

    code = "speech_engine_missing"
    http_status = 409
    exit_code = 4


class SpeechLanguageError(LipforgeError):
    """Raised when a script's language is not one the voice's engine speaks."""

    code = "speech_language_unsupported"
    http_status = 422
    exit_code = 2


class SpeechKeyMissingError(LipforgeError):
    """Raised when a voice names an API-key env var that the server process does not have."""

    code = "speech_key_missing"
    http_status = 409
    exit_code = 2


class SpeechServerError(LipforgeError):
    """Raised when a TTS server refuses, errors, times out or cannot be reached."""

    code = "speech_server_failed"
    http_status = 502
    exit_code = 7


class SpeechAudioError(SpeechServerError):
    """Raised when a TTS server answers with no audio, or audio that is not what was asked."""

    code = "speech_bad_audio"
