"""Pull and verify models: the one place the CLI and the server turn a registry entry (or a
URL with its sha256) into installed, verified files.

`pull_model` downloads each file of an entry with `download.download`; `entry_for_url`
makes an entry for `lipforge models pull URL --sha256 HEX`; `verify_model` re-hashes
installed files. Printing is the caller's job: results carry the notes and warnings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from lipforge.errors import ConfigError
from lipforge.weights.download import download
from lipforge.weights.registry import (
    ModelEntry,
    ModelFile,
    check_model_name,
    file_path,
    known_models,
    save_custom_entry,
)
from lipforge.weights.request import (
    DEFAULT_CONNECTIONS,
    DEFAULT_READ_TIMEOUT_S,
    DownloadProgress,
    DownloadRequest,
    DownloadResult,
)
from lipforge.weights.store import record_path, sha256_file, write_record

MAX_CONNECTIONS = 32
_SHA256_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class PullOptions:
    """How to fetch: the CLI's --connections, --limit-rate, --mirror, --proxy."""

    connections: int = DEFAULT_CONNECTIONS
    limit_rate_bps: float | None = None
    mirrors: tuple[str, ...] = ()
    proxy: str | None = None
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    min_free_bytes: int = 0


@dataclass(frozen=True)
class FileCheck:
    """The outcome of re-hashing one installed file."""

    path: Path
    ok: bool
    expected: str | None
    actual: str | None
    reason: str


FileProgress = Callable[[ModelFile, DownloadProgress], None]


def check_sha256(value: str) -> str:
    digest = value.strip().lower()
    if len(digest) != 64 or not set(digest) <= _SHA256_HEX:
        raise ConfigError(f"--sha256 {value!r} is not a sha256: give 64 hexadecimal digits.")
    return digest


def entry_for_url(url: str, sha256: str, name: str | None, models_dir: Path) -> ModelEntry:
    """An entry for a file pulled by URL; `name` of a registry entry installs it in its place."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.path.strip("/"):
        raise ConfigError(f"{url!r} is not an http(s) URL of a file.")
    filename = Path(parsed.path).name
    known = known_models(models_dir).get(name or "")
    if known is not None and len(known.files) == 1:
        filename = known.files[0].filename
    model_file = ModelFile(filename, url, sha256=check_sha256(sha256), sha256_source="--sha256")
    model_name = check_model_name(name or Path(filename).stem)
    engine = known.engine if known else "custom"
    licence = known.licence if known else "unknown: pulled by URL, check its licence yourself"
    return ModelEntry(model_name, engine, f"pulled from {url}", licence, (model_file,), True)


def pull_model(
    entry: ModelEntry,
    models_dir: Path,
    options: PullOptions,
    on_progress: FileProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> list[DownloadResult]:
    """Download every file of `entry` into `models_dir/<name>/`, verified; returns the results."""
    if not 1 <= options.connections <= MAX_CONNECTIONS:
        raise ConfigError(
            f"--connections {options.connections} is out of range: use 1 to {MAX_CONNECTIONS}."
        )
    results = []
    for model_file in entry.files:
        request = DownloadRequest(
            url=model_file.url,
            dest=file_path(models_dir, entry, model_file),
            sha256=model_file.sha256,
            mirrors=(*options.mirrors, *model_file.mirrors),
            connections=options.connections,
            limit_rate_bps=options.limit_rate_bps,
            proxy=options.proxy,
            read_timeout_s=options.read_timeout_s,
            min_free_bytes=options.min_free_bytes,
        )
        report = None
        if on_progress is not None:
            report = _bind_progress(on_progress, model_file)
        results.append(download(request, report, should_cancel))
    if entry.custom:
        save_custom_entry(models_dir, entry)
    return results


def _bind_progress(on_progress: FileProgress, model_file: ModelFile):
    return lambda progress: on_progress(model_file, progress)


def verify_model(models_dir: Path, entry: ModelEntry) -> list[FileCheck]:
    """Re-hash each installed file against its pinned sha256 (or, unpinned, its install hash)."""
    checks = []
    for model_file in entry.files:
        path = file_path(models_dir, entry, model_file)
        if not path.is_file():
            checks.append(FileCheck(path, False, model_file.sha256, None, "not installed"))
            continue
        expected = model_file.sha256 or _install_hash(path)
        actual = sha256_file(path)
        if expected is not None and actual != expected:
            record_path(path).unlink(missing_ok=True)
            checks.append(FileCheck(path, False, expected, actual, "sha256 mismatch"))
            continue
        write_record(path, actual)
        reason = "sha256 matches" if model_file.sha256 else "unpinned: no published sha256"
        checks.append(FileCheck(path, True, expected, actual, reason))
    return checks


def _install_hash(path: Path) -> str | None:
    """The hash recorded at install, even if the file changed since (that is what we check)."""
    try:
        return json.loads(record_path(path).read_text()).get("sha256")
    except (OSError, ValueError):
        return None


__all__ = [
    "FileCheck",
    "PullOptions",
    "check_sha256",
    "entry_for_url",
    "pull_model",
    "verify_model",
]
