"""The tus server's error table: one class per protocol failure, each with code and HTTP status.

TusError (LipforgeError)
 +-- UnsupportedVersionError   Tus-Resumable missing or not 1.0.0 (412, answered with Tus-Version)
 +-- BadHeaderError            a tus header is garbage, negative or out of range (400)
 +-- UnknownChecksumError      Upload-Checksum names an algorithm we do not have (400)
 +-- BadConcatError            Upload-Concat names missing or unfinished partial uploads (400)
 +-- UploadInterruptedError    a newer request on the same upload took it over (400)
 +-- FinalConcatPatchError     PATCH on a final concatenation (403)
 +-- UploadNotFoundError       no upload has this id (404)
 +-- OffsetMismatchError       Upload-Offset differs from the bytes on disk (409)
 +-- UploadGoneError           the upload expired (410)
 +-- SizeExceededError         more bytes than Upload-Length or Tus-Max-Size (413)
 +-- WrongContentTypeError     PATCH without application/offset+octet-stream (415)
 +-- UploadLockedError         the holder of the upload did not let go in time (423)
 +-- QuotaExceededError        too many unfinished uploads for one token (429)
 +-- ChecksumMismatchError     the chunk's checksum differs; the chunk was discarded (460)
 +-- UploadTooLargeForDiskError  the upload would leave too little free disk (507)

These are answered by the tus router as `{"error": code, "message": …}` with the tus
headers; they never leave the uploads package as anything but HTTP answers.
"""

from __future__ import annotations

from lipforge.errors import LipforgeError


class TusError(LipforgeError):
    """Root of the tus protocol errors; `http_status` is what the client receives."""

    code = "tus_error"
    http_status = 400


class UnsupportedVersionError(TusError):
    """Raised when Tus-Resumable is missing or not a version this server speaks."""

    code = "unsupported_tus_version"
    http_status = 412


class BadHeaderError(TusError):
    """Raised when a tus header value cannot be parsed or is out of range."""

    code = "bad_header"
    http_status = 400


class UnknownChecksumError(TusError):
    """Raised when Upload-Checksum names an algorithm that is not sha1, md5 or sha256."""

    code = "unknown_checksum_algorithm"
    http_status = 400


class BadConcatError(TusError):
    """Raised when a final concatenation names uploads that are missing, foreign or unfinished."""

    code = "bad_concatenation"
    http_status = 400


class UploadInterruptedError(TusError):
    """Raised in a PATCH whose upload was taken over by a newer HEAD or PATCH."""

    code = "upload_interrupted"
    http_status = 400


class FinalConcatPatchError(TusError):
    """Raised on a PATCH to a final concatenation, which only the server writes."""

    code = "final_concat_patch"
    http_status = 403


class UploadNotFoundError(TusError):
    """Raised when no upload has the requested id (never created, terminated or cleaned)."""

    code = "upload_not_found"
    http_status = 404


class OffsetMismatchError(TusError):
    """Raised when Upload-Offset is not the number of bytes the server holds."""

    code = "offset_mismatch"
    http_status = 409


class UploadGoneError(TusError):
    """Raised when an unfinished upload is past its Upload-Expires time."""

    code = "upload_expired"
    http_status = 410


class SizeExceededError(TusError):
    """Raised when an upload would be larger than its Upload-Length or than Tus-Max-Size."""

    code = "size_exceeded"
    http_status = 413


class WrongContentTypeError(TusError):
    """Raised when upload bytes come without Content-Type: application/offset+octet-stream."""

    code = "wrong_content_type"
    http_status = 415


class UploadLockedError(TusError):
    """Raised when the request holding an upload does not let go within the takeover timeout."""

    code = "upload_locked"
    http_status = 423


class QuotaExceededError(TusError):
    """Raised when a token already has the maximum number of unfinished uploads."""

    code = "upload_quota_exceeded"
    http_status = 429


class ChecksumMismatchError(TusError):
    """Raised when a chunk's checksum does not match; the chunk is discarded."""

    code = "checksum_mismatch"
    http_status = 460


class UploadTooLargeForDiskError(TusError):
    """Raised when storing the upload would leave less free disk than configured."""

    code = "insufficient_storage"
    http_status = 507
