"""Turn a HeyGem `audio_url` / `video_url` string into a local file inside the staging dir.

- `http://…` / `https://…`: downloaded (`fetcher.py`, guarded by `netguard.py`); a host
  the guard refuses is refused at once by `check_url`, before any download is queued.
- `file://…` and any other `scheme://`: refused.
- anything else is a path under the HeyGem root, as HeyGem reads paths in its mounted
  data dir: a relative path is taken from `<root>/temp` (where the Duix.Avatar client puts
  its files and sends bare names), `/code/data/…` (the container's mount, as ComfyUI nodes
  send) maps to `<root>/…`, an absolute path must already lie under the root. `..` may climb
  within the root (`../characters/x.mp4` from temp/), never out of it; symlinks are resolved
  first, so a link that leads out is refused too.
The found file is copied into the staging dir (the asset library moves what it ingests;
the client's file stays where it is). This module does not probe media.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx

from lipforge.filenames import file_stem
from lipforge.heygem.contract import CONTAINER_MOUNT
from lipforge.heygem.errors import InputRefusedError
from lipforge.heygem.fetcher import DEFAULT_FETCH_LIMITS, fetch_url
from lipforge.heygem.netguard import AddressPolicy
from lipforge.transfer import TransferLimits

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
TEMP_DIR_NAME = "temp"
_PLAIN_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def is_url(value: str) -> bool:
    """True for the inputs that are downloaded (and so are staged in the background)."""
    return value.lower().startswith(("http://", "https://"))


def check_url(field: str, value: str, policy: AddressPolicy) -> None:
    """Refuse at once a URL whose host is not permitted (the download itself, in the
    background, checks every connection again, redirects included)."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise InputRefusedError(f"{field} {value!r} is not a URL: {exc}.", field=field) from exc
    policy.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))


def stage_input(
    field: str,
    value: str,
    root: Path,
    staging: Path,
    policy,
    max_bytes: int,
    limits: TransferLimits = DEFAULT_FETCH_LIMITS,
):
    """A local copy of the input named by `value`; (path, original file name)."""
    if is_url(value):
        name = PurePosixPath(urlsplit(value).path).name or f"{field}.bin"
        dest = staging / f"{field}-{_safe(name)}"
        fetch_url(value, dest, policy, max_bytes, limits)
        return dest, name
    if _SCHEME.match(value) or value.lower().startswith("file:"):
        raise InputRefusedError(
            f"{field} {value!r}: only http(s) URLs and paths under the HeyGem root are read; "
            "file:// and other URL schemes are refused.",
            field=field,
            value=value,
        )
    source = resolve_root_path(field, value, root)
    dest = staging / f"{field}-{_safe(source.name)}"
    shutil.copyfile(source, dest)
    return dest, source.name


def resolve_root_path(field: str, value: str, root: Path) -> Path:
    """The existing file `value` names under `root` (see the module text); refused otherwise."""
    if "\x00" in value:
        raise InputRefusedError(f"{field} contains a NUL character.", field=field)
    real_root = root.resolve()
    text = value.replace("\\", "/")
    if text == CONTAINER_MOUNT or text.startswith(CONTAINER_MOUNT + "/"):
        candidate = real_root / text[len(CONTAINER_MOUNT) :].lstrip("/")
    elif os.path.isabs(text):
        candidate = Path(text)
    else:
        candidate = real_root / TEMP_DIR_NAME / text
    resolved = Path(os.path.realpath(candidate))
    if not resolved.is_relative_to(real_root):
        raise InputRefusedError(
            f"{field} {value!r} leads outside the HeyGem root {real_root} "
            "(LIPFORGE_HEYGEM_ROOT); put the file under it and send a path relative to "
            f"{real_root / TEMP_DIR_NAME}.",
            field=field,
            value=value,
            root=str(real_root),
        )
    if not resolved.is_file():
        raise InputRefusedError(
            f"{field} {value!r}: no such file under the HeyGem root ({resolved}).",
            field=field,
            value=value,
        )
    return resolved


def _safe(name: str) -> str:
    """A staged copy's name by filenames.py's rule (Chinese kept), its extension kept."""
    suffix = PurePosixPath(name).suffix
    return (file_stem(name) or "file") + (suffix if _PLAIN_SUFFIX.match(suffix) else "")


__all__ = [
    "AddressPolicy",
    "check_url",
    "is_url",
    "resolve_root_path",
    "stage_input",
    "TEMP_DIR_NAME",
]
