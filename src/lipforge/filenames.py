"""File names as people type them: safe to show, and one rule for every file LipForge names.

`displayable_name` cleans a name for display: NFC, without control, format (bidi,
zero-width) or line-separator characters. A name such as "invoice\u202egnp.mp4" shows as
"invoice4pm.png" wherever it is displayed (U+202E RIGHT-TO-LEFT OVERRIDE). Every name a
client gives (upload metadata, imported files) and every name the server puts in a
`Content-Disposition` goes through it.

`safe_stem` / `file_stem` / `unique_file_name` are the one naming rule for outputs, wherever
they are written (`lipforge run`, batches made by `submit` or the page, the batch zip,
HeyGem's result files): every letter and digit of every script is kept (CJK included);
only what is unsafe in a file name on Linux, macOS or Windows is replaced (`<>:"/\\|?*`,
controls, trailing dots and spaces, device names such as `CON`); a name never starts with
`-` (a shell option) or `.` (a hidden file); a stem is cut to a byte budget so two stems,
a counter and an extension fit a 255-byte file name; names are unique without regard to
case (Windows and macOS folders, zips unpacked there). `content_disposition` puts any such
name in an HTTP header (UTF-8 names as RFC 6266's `filename*`). This module only makes
names; where files go and what they hold are the callers' business.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePath
from urllib.parse import quote

REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})  # controls, format, line/para separators
UNSAFE_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*]+')  # Windows refuses these; "/" everywhere
LEADING_JUNK = "-. _\t"  # "-" reads as an option in a shell, "." hides the file
TRAILING_JUNK = ". _\t"  # Windows drops trailing dots and spaces
WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{n}" for n in range(10)} | {f"LPT{n}" for n in range(10)}
)
MAX_STEM_BYTES = 100  # UTF-8 bytes: two stems + "-NN" + ".mp4"/".srt" stay under 255
REPLACEMENT = "_"


def displayable_name(name: str) -> str:
    """`name` in NFC without control, format (bidi, zero-width) or line-separator characters."""
    text = unicodedata.normalize("NFC", name)
    return "".join(char for char in text if unicodedata.category(char) not in REMOVED_CATEGORIES)


def safe_stem(text: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """`text` as (part of) a file name on any system: "" when nothing usable is left."""
    cleaned = UNSAFE_IN_FILE_NAMES.sub(REPLACEMENT, displayable_name(text))
    cleaned = " ".join(cleaned.split())
    cleaned = _cut_to_bytes(cleaned.lstrip(LEADING_JUNK), max_bytes).rstrip(TRAILING_JUNK)
    if cleaned.split(".")[0].upper() in WINDOWS_DEVICE_NAMES:
        cleaned = f"{cleaned}{REPLACEMENT}"
    return cleaned


def file_stem(file_name: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """The safe stem of a file name a user gave (any folder and the extension dropped)."""
    base = PurePath(displayable_name(file_name).replace("\\", "/")).name
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    return safe_stem(stem, max_bytes)


def joined_stem(parts: Iterable[str]) -> str:
    """Safe stems joined by "-", the empty ones left out: `<video>-<audio>`, `<script>-<video>`."""
    return "-".join(stem for stem in (safe_stem(part) for part in parts) if stem)


def unique_file_name(stem: str, taken: set[str], suffix: str = ".mp4") -> str:
    """`<stem><suffix>`, or `<stem>-2<suffix>`, … unlike any name in `taken` (case-blind; added)."""
    name, counter = f"{stem}{suffix}", 2
    while name.casefold() in taken:
        name, counter = f"{stem}-{counter}{suffix}", counter + 1
    taken.add(name.casefold())
    return name


def content_disposition(name: str, disposition: str = "inline") -> str:
    """A `Content-Disposition` value for `name`: plain when ASCII, RFC 6266 `filename*` else."""
    shown = displayable_name(name).replace('"', "'")
    quoted = quote(shown)
    if quoted != shown:
        return f"{disposition}; filename*=utf-8''{quoted}"
    return f'{disposition}; filename="{shown}"'


def _cut_to_bytes(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")
