"""Parsing of the tus request headers into plain values, raising the error table's 400s.

Every parser accepts only the exact grammar of tus 1.0.0: garbage, negative,
oversized or out-of-range values become BadHeaderError (400), never an exception
the server does not expect. Not here: what the values mean for an upload's state
(the method handlers decide that).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from urllib.parse import urlsplit

from lipforge.filenames import displayable_name
from lipforge.uploads.errors import (
    BadConcatError,
    BadHeaderError,
    UnknownChecksumError,
    UnsupportedVersionError,
)
from lipforge.uploads.filestore import is_upload_id

TUS_VERSION = "1.0.0"
MAX_INT64 = 2**63 - 1
MAX_METADATA_CHARS = 4096
MAX_FILE_NAME_CHARS = 200
CHECKSUM_ALGORITHMS = ("sha1", "md5", "sha256")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def check_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise UnsupportedVersionError(
            f"Tus-Resumable {value!r} is not supported; this server speaks tus {TUS_VERSION}."
        )


def parse_non_negative(name: str, value: str | None) -> int | None:
    """An integer header (Upload-Length, Upload-Offset); None when absent."""
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.match(text) or int(text) > MAX_INT64:
        raise BadHeaderError(
            f"{name} {value[:40]!r} is not a non-negative integer below 2^63. Send the byte count."
        )
    return int(text)


def parse_defer_length(value: str | None) -> bool:
    if value is None:
        return False
    if value.strip() != "1":
        raise BadHeaderError(f"Upload-Defer-Length {value[:40]!r} is invalid; the only value is 1.")
    return True


def parse_metadata(value: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (the value may be absent)."""
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_METADATA_CHARS:
        raise BadHeaderError(
            f"Upload-Metadata is {len(value)} characters; at most 4096 are accepted."
        )
    result: dict[str, str] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not _METADATA_KEY.match(key) or len(parts) > 2 or key in result:
            raise BadHeaderError(f"Upload-Metadata pair {pair[:60]!r} is not `key base64value`.")
        result[key] = _decode_base64_text(key, parts[1]) if len(parts) == 2 else ""
    return result


def _decode_base64_text(key: str, encoded: str) -> str:
    if not _BASE64.match(encoded):
        raise BadHeaderError(f"Upload-Metadata value of {key!r} is not base64.")
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as exc:
        raise BadHeaderError(f"Upload-Metadata value of {key!r} is not base64.") from exc


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: `algorithm base64digest`; None when absent."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise BadHeaderError(f"Upload-Checksum {value[:60]!r} is not `algorithm base64digest`.")
    algorithm, encoded = parts[0].lower(), parts[1]
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise UnknownChecksumError(
            f"Checksum algorithm {parts[0][:20]!r} is not supported; use one of "
            f"{', '.join(CHECKSUM_ALGORITHMS)}."
        )
    try:
        digest = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadHeaderError(f"Upload-Checksum digest {encoded[:60]!r} is not base64.") from exc
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise BadHeaderError(f"Upload-Checksum digest has the wrong length for {algorithm}.")
    return algorithm, digest


def parse_concat(value: str | None) -> tuple[str, list[str]]:
    """Upload-Concat: `partial`, or `final;<url> <url>…` giving the partial upload ids in order."""
    if value is None:
        return "", []
    text = value.strip()
    if text == "partial":
        return "partial", []
    if not text.startswith("final;"):
        raise BadHeaderError(f"Upload-Concat {value[:60]!r} is neither `partial` nor `final;…`.")
    ids = [_upload_id_of_url(url) for url in text[len("final;") :].split()]
    if not ids:
        raise BadConcatError("Upload-Concat `final;` lists no partial uploads.")
    return "final", ids


def _upload_id_of_url(url: str) -> str:
    upload_id = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    if not is_upload_id(upload_id):
        raise BadConcatError(f"Upload-Concat names {url[:80]!r}, which is not an upload here.")
    return upload_id


def safe_file_name(name: str | None) -> str:
    """A plain file name from a client-supplied one: no directories, separators or controls."""
    text = displayable_name(name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_NAME_CHARS.sub("_", text).strip(" .")
    return text[:MAX_FILE_NAME_CHARS] or "upload"
