"""The model registry: the manifest shipped with the package, plus models pulled by URL.

Each entry names the engine that uses it, its files (URL, mirrors, size, sha256 and
where that sha256 was published) and its licence. An entry without a sha256 is
*unpinned*: it can be pulled, with a warning and the computed hash printed. A model
pulled by URL is recorded as `<models>/<name>/model.json` in the same shape. This module
downloads nothing (`pull.py` does).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from lipforge.errors import ConfigError, ModelMissingError, NotFoundError
from lipforge.weights.store import recorded_sha256

CUSTOM_ENTRY_FILE = "model.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class ModelFile:
    """One file of a model and where its expected sha256 was published."""

    filename: str
    url: str
    mirrors: tuple[str, ...] = ()
    size_bytes: int | None = None
    sha256: str | None = None
    sha256_source: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    """A named model: which engine uses it, its files, its licence."""

    name: str
    engine: str
    description: str
    licence: str
    files: tuple[ModelFile, ...] = field(default_factory=tuple)
    custom: bool = False

    @property
    def pinned(self) -> bool:
        return all(f.sha256 for f in self.files)


@dataclass(frozen=True)
class ModelStatus:
    """What `models list` shows for one entry."""

    entry: ModelEntry
    installed: bool
    verified: bool
    size_bytes: int


def _entry_from_dict(raw: dict, custom: bool = False) -> ModelEntry:
    files = tuple(ModelFile(**{**f, "mirrors": tuple(f.get("mirrors", ()))}) for f in raw["files"])
    return ModelEntry(
        name=raw["name"],
        engine=raw["engine"],
        description=raw.get("description", ""),
        licence=raw.get("licence", "unknown"),
        files=files,
        custom=custom,
    )


def load_manifest() -> dict[str, ModelEntry]:
    text = resources.files("lipforge.weights").joinpath("manifest.json").read_text()
    return {m["name"]: _entry_from_dict(m) for m in json.loads(text)["models"]}


def known_models(models_dir: Path | None = None) -> dict[str, ModelEntry]:
    """The manifest's entries, then models pulled by URL into `models_dir`."""
    models = load_manifest()
    if models_dir is not None and models_dir.is_dir():
        for path in sorted(models_dir.glob(f"*/{CUSTOM_ENTRY_FILE}")):
            try:
                entry = _entry_from_dict(json.loads(path.read_text()), custom=True)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            models.setdefault(entry.name, entry)
    return models


def get_model(name: str, models_dir: Path | None = None) -> ModelEntry:
    models = known_models(models_dir)
    if name not in models:
        raise NotFoundError(
            f"No model named {name!r}. Known models: {', '.join(sorted(models))}. "
            "To fetch another file: lipforge models pull URL --sha256 HEX --name NAME."
        )
    return models[name]


def check_model_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"Model name {name!r} is not usable. Use letters, digits, '_', '-' or '.'."
        )
    return name


def file_path(models_dir: Path, entry: ModelEntry, model_file: ModelFile) -> Path:
    return models_dir / entry.name / model_file.filename


def save_custom_entry(models_dir: Path, entry: ModelEntry) -> None:
    path = models_dir / entry.name / CUSTOM_ENTRY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = asdict(entry)
    payload.pop("custom")
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(payload, indent=2))
    os.replace(temp, path)


def model_status(models_dir: Path, entry: ModelEntry) -> ModelStatus:
    """Installed: every file present. Verified: each file's install-time hash is the pinned one."""
    paths = [(f, file_path(models_dir, entry, f)) for f in entry.files]
    installed = all(p.is_file() for _f, p in paths)
    size = sum(p.stat().st_size for _f, p in paths if p.is_file())
    verified = installed and all(
        (digest := recorded_sha256(p)) is not None and (f.sha256 is None or digest == f.sha256)
        for f, p in paths
    )
    return ModelStatus(entry, installed, verified, size)


def engine_model(models_dir: Path, engine: str, preferred: str) -> list[Path]:
    """The files of the first installed model for `engine` (`preferred` first, then the
    manifest's order); ModelMissingError naming the pull of `preferred` when none is."""
    entries = [e for e in known_models(models_dir).values() if e.engine == engine]
    entries.sort(key=lambda e: e.name != preferred)
    for entry in entries:
        if model_status(models_dir, entry).installed:
            return [file_path(models_dir, entry, f) for f in entry.files]
    return require_model(models_dir, preferred)


def require_model(models_dir: Path, name: str) -> list[Path]:
    """The paths of an installed model's files; ModelMissingError naming the pull otherwise."""
    entry = get_model(name, models_dir)
    paths = [file_path(models_dir, entry, f) for f in entry.files]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ModelMissingError(
            f"Model {name!r} is not installed (missing {missing[0]}). "
            f"Fetch it with: lipforge models pull {name}"
        )
    return paths
