"""Where a command writes: the data dir said in full, and a warning when a running server
uses another one.

The data dir is resolved the same way for every command and for the server: `--data`,
else `LIPFORGE_DATA`, else `./lipforge-data` in the current folder. That last default
means a `lipforge voices add` typed in another folder writes to another data dir, which
the server never reads. So `lipforge serve` records where it runs (one small JSON file per
server process under `$XDG_STATE_HOME/lipforge/servers/`, removed when it stops), and the
commands that write to a data dir say which one they used and warn when a live server uses
a different one. This module only reads and writes those records and the text; it opens no
database.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from lipforge.config import Settings

STATE_DIR_ENV = "XDG_STATE_HOME"
SERVERS_SUBDIR = Path("lipforge") / "servers"


def servers_dir() -> Path:
    base = os.environ.get(STATE_DIR_ENV) or str(Path.home() / ".local" / "state")
    return Path(base) / SERVERS_SUBDIR


def where(settings: Settings) -> str:
    """ "data dir /abs/path" (and the database when it is not the data dir's SQLite file)."""
    text = f"data dir {settings.data.resolve()}"
    if settings.database_url:
        text += f", database {_without_password(settings.database_url)}"
    return text


@contextlib.contextmanager
def registered_server(settings: Settings, url: str) -> Iterator[None]:
    """Record this server process (pid, data dir, URL) while it runs."""
    record = servers_dir() / f"{os.getpid()}.json"
    body = {"pid": os.getpid(), "data_dir": str(settings.data.resolve()), "url": url}
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(body), encoding="utf-8")
    except OSError:
        record = None  # a read-only home: the warning is a courtesy, serving is not
    try:
        yield
    finally:
        if record is not None:
            record.unlink(missing_ok=True)


def servers_elsewhere(settings: Settings) -> list[dict]:
    """Live servers (their records) whose data dir is not this command's."""
    mine = str(settings.data.resolve())
    found = []
    for record in sorted(servers_dir().glob("*.json")) if servers_dir().is_dir() else ():
        try:
            body = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _alive(int(body.get("pid", 0))) and body.get("data_dir") != mine:
            found.append(body)
    return found


def warnings_for(settings: Settings) -> list[str]:
    """One line per live server on another data dir, saying how to reach it instead."""
    return [
        f"Warning: the LipForge server at {body.get('url')} (pid {body.get('pid')}) uses the "
        f"data dir {body.get('data_dir')}, not {settings.data.resolve()}: it will not see "
        f"this change. Pass --data {body.get('data_dir')} (or set LIPFORGE_DATA), or "
        f"--server {body.get('url')} where the command takes it."
        for body in servers_elsewhere(settings)
    ]


def where_written(settings: Settings) -> str:
    """`where(settings)`, after a warning on stderr for each server that reads another dir."""
    import typer

    for warning in warnings_for(settings):
        typer.echo(warning, err=True)
    return where(settings)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}@{host}"
