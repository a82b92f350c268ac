"""Every error a user can hit, in one hierarchy.

LipforgeError
 +-- ConfigError          a setting has a value that cannot be used
 +-- MediaError           an input file cannot be used as media (422)
 |    +-- NotMediaError, CorruptMediaError, NoVideoStreamError, NoAudioStreamError,
 |    +-- EmptyMediaError, ResolutionTooLargeError, VideoTooSmallError, TooLongError
 +-- NoFaceError          no face was found where one was needed (422)
 +-- ModelMissingError    an engine's weights are not installed (409)
 +-- NotFoundError        an id names nothing (404)
 +-- ConflictError        the request clashes with the current state (409)
 +-- AuthError            a token is missing or wrong (401)
 +-- DiskFullError        the write would leave too little free disk (507)
 +-- CancelledError       a render was cancelled by its caller

Each class carries `code` (stable, for API clients), `http_status` (the API answers
`exc.to_json()`: `{"error": code, "message": str(exc), "params": {...}}`) and `exit_code`
(the CLI's exit status). `params` are the values the English message names (a file name,
a limit), given as keywords where the error is raised, so a UI can say the same sentence in
the reader's language from `code` and `params`.
Errors of lower libraries are translated into these where they are raised
(`raise … from exc`); nothing shows a user a traceback unless asked with --debug.
This module holds the shared classes; a package may add its own subclasses beside
its code (the tus server keeps its protocol errors in `uploads/errors.py`).
"""

from __future__ import annotations


class LipforgeError(Exception):
    """Root of every error a user can act on."""

    code = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str = "", /, **params: object) -> None:
        super().__init__(message)
        self.params: dict[str, object] = {
            key: value
            if isinstance(value, (str, int, float, bool)) or value is None
            else str(value)
            for key, value in params.items()
        }

    def to_json(self) -> dict[str, object]:
        """The API's body for this error: stable code, English message, translation params."""
        return {"error": self.code, "message": str(self), "params": self.params}


class ConfigError(LipforgeError):
    """Raised when a setting (env LIPFORGE_* or a CLI option) has an unusable value."""

    code = "bad_config"
    exit_code = 2


class MediaError(LipforgeError):
    """Raised when an input file cannot be used as media."""

    code = "bad_media"
    http_status = 422
    exit_code = 3


class NotMediaError(MediaError):
    """Raised when a file is not audio or video at all."""

    code = "not_media"


class CorruptMediaError(MediaError):
    """Raised when a media file is truncated or damaged beyond decoding."""

    code = "corrupt_media"


class NoVideoStreamError(MediaError):
    """Raised when a face video has no video stream."""

    code = "no_video_stream"


class NoAudioStreamError(MediaError):
    """Raised when a driving audio has no audio stream."""

    code = "no_audio_stream"


class EmptyMediaError(MediaError):
    """Raised when a file holds zero frames or zero samples."""

    code = "empty_media"


class ResolutionTooLargeError(MediaError):
    """Raised when a video is wider or taller than the configured maximum."""

    code = "resolution_too_large"


class VideoTooSmallError(MediaError):
    """Raised when a face video is too small on its short side to hold a face the tracker finds."""

    code = "video_too_small"


class TooLongError(MediaError):
    """Raised when a file is longer than the configured maximum duration."""

    code = "too_long"


class NoFaceError(LipforgeError):
    """Raised when no face is found in the time range that was checked."""

    code = "no_face"
    http_status = 422
    exit_code = 3


class ModelMissingError(LipforgeError):
    """Raised when an engine's model files are not installed; says which pull fixes it."""

    code = "model_missing"
    http_status = 409
    exit_code = 4


class NotFoundError(LipforgeError):
    """Raised when an id names no asset, upload, batch, job or model."""

    code = "not_found"
    http_status = 404


class ConflictError(LipforgeError):
    """Raised when a request clashes with the current state (e.g. retry of a running job)."""

    code = "conflict"
    http_status = 409


class AuthError(LipforgeError):
    """Raised when a token is missing or wrong."""

    code = "unauthorized"
    http_status = 401
    exit_code = 5


class DiskFullError(LipforgeError):
    """Raised when a write would leave less free disk than the configured threshold."""

    code = "insufficient_storage"
    http_status = 507
    exit_code = 6


class CancelledError(LipforgeError):
    """Raised inside a render when its cancel check answers true."""

    code = "cancelled"
    http_status = 409
    exit_code = 130


class InvalidRequestError(LipforgeError):
    """Raised when a request's parameters are out of range (e.g. a page size above the maximum)."""

    code = "bad_request"
    http_status = 400
