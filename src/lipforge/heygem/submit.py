"""Parse a `/easy/submit` body the way HeyGem does, and say which options LipForge cannot honour.

HeyGem reads the raw body as JSON whatever its Content-Type (ComfyUI nodes send none),
requires non-empty `audio_url`, `video_url` and `code`, and reads `watermark_switch`,
`digital_auth`, `chaofen` as on only when they are "1"; `pn` is on unless it is "0"
(it picks the ping-pong frame order for a video shorter than the audio: LipForge's
`pingpong` fit, else `loop`). Options LipForge does not have are accepted and named in
`notes`, which the answers carry in `msg`; so are fields HeyGem does not know.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lipforge.heygem.errors import BadParameterError

REQUIRED_FIELDS = ("audio_url", "video_url", "code")
KNOWN_FIELDS = frozenset({*REQUIRED_FIELDS, "watermark_switch", "digital_auth", "chaofen", "pn"})
MAX_CODE_BYTES = 200  # UTF-8 bytes: `<code>-r.mp4` and its temp names stay under NAME_MAX (255)
# slashes, control characters, and the invisible marks that turn a name around (U+202E...)
_BAD_CODE_CHARS = re.compile(r"[/\\\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNHONOURED = {
    "chaofen": "chaofen=1 (super-resolution) is not available: the video keeps its resolution",
    "watermark_switch": "watermark_switch=1: LipForge adds no watermark",
    "digital_auth": "digital_auth=1: LipForge adds no digital-human mark",
}


@dataclass(frozen=True)
class SubmitRequest:
    """A checked submit: the client's code, its two inputs, the fit mode and what was ignored."""

    code: str
    audio_url: str
    video_url: str
    fit: str
    options: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def parse_submit(raw: bytes) -> SubmitRequest:
    """The submit body as a SubmitRequest; BadParameterError names what is wrong."""
    try:
        body = json.loads(raw.decode("utf-8-sig") if raw else "")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadParameterError(
            f'The body is not JSON ({exc}). Send {{"code", "audio_url", "video_url"}}.',
            reason="not_json",
        ) from exc
    if not isinstance(body, dict):
        raise BadParameterError("The body must be a JSON object.", reason="not_object")
    if isinstance(body.get("code"), int) and not isinstance(body["code"], bool):
        body["code"] = str(body["code"])  # HeyGem formats any code into its file names
    for name in REQUIRED_FIELDS:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise BadParameterError(
                f"{name} is missing or empty; it must be a non-empty string.", field=name
            )
    code = body["code"].strip()
    check_code(code)
    options = {key: value for key, value in body.items() if key not in REQUIRED_FIELDS}
    return SubmitRequest(
        code=code,
        audio_url=body["audio_url"].strip(),
        video_url=body["video_url"].strip(),
        fit="loop" if str(body.get("pn", "")) == "0" else "pingpong",
        options=options,
        notes=unhonoured_notes(body),
    )


def check_code(code: str) -> None:
    """A code names a file (`<code>-r.mp4`): at most MAX_CODE_BYTES of UTF-8, no slashes,
    control or direction characters, and no leading `-` (an option) or `.` (hidden)."""
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > MAX_CODE_BYTES or _BAD_CODE_CHARS.search(code) or code.startswith(("-", ".")):
        raise BadParameterError(
            f"code {code[:MAX_CODE_BYTES]!r} cannot name a file: use at most "
            f"{MAX_CODE_BYTES} bytes (UTF-8; a Chinese character takes 3) without slashes, "
            "control or direction characters, not starting with '-' or '.' (a UUID fits).",
            field="code",
            limit=MAX_CODE_BYTES,
        )


def unhonoured_notes(body: dict) -> tuple[str, ...]:
    notes = [text for name, text in UNHONOURED.items() if str(body.get(name, "")) == "1"]
    unknown = sorted(key for key in body if key not in KNOWN_FIELDS)
    if unknown:
        notes.append(f"ignored unknown fields: {', '.join(unknown)}")
    return tuple(notes)
