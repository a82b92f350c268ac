"""Per-job log files: `logs/jobs/<job_id>.log`, plain text lines a person reads.

The worker appends one line per step of a job (claimed, progress milestones, the
failure reason, the output); the API serves the file (the job's log route).
Lines are appended with O_APPEND so workers on several machines sharing the data
dir do not clobber each other. With a bucket as the store (workers share no disk), the
log is also the object `logs/jobs/<job_id>.log`: a worker takes it down before an
attempt (`fetch_job_log`) and puts it back after (`publish_job_log`), and the API reads
it from there (`read_stored_job_log`); with the data dir, that object is the file itself.
This module does not rotate or delete logs.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from lipforge.storage.backend import Storage, put_file

JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def job_log_path(logs_dir: Path, job_id: str) -> Path:
    if not JOB_ID_PATTERN.match(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return logs_dir / "jobs" / f"{job_id}.log"


def append_job_log(logs_dir: Path, job_id: str, message: str) -> None:
    """Append `<UTC time> <message>` to the job's log (one line; newlines are flattened)."""
    path = job_log_path(logs_dir, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = f"{stamp} {' '.join(message.splitlines())}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_job_log(logs_dir: Path, job_id: str) -> list[str]:
    """The job's log lines, oldest first; [] when the job has not logged anything yet."""
    path = job_log_path(logs_dir, job_id)
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def job_log_key(job_id: str) -> str:
    return f"logs/jobs/{job_log_path(Path('.'), job_id).name}"


def fetch_job_log(storage: Storage, logs_dir: Path, job_id: str) -> None:
    """Replace this machine's copy of the log with the stored one (another machine's lines)."""
    key, path = job_log_key(job_id), job_log_path(logs_dir, job_id)
    if storage.local_path(key) is not None or storage.stat(key) is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    storage.download(key, path)


def publish_job_log(storage: Storage, logs_dir: Path, job_id: str) -> None:
    """Store this machine's copy of the log, so the API (and the next attempt) read it."""
    key, path = job_log_key(job_id), job_log_path(logs_dir, job_id)
    if storage.local_path(key) is None and path.exists():
        put_file(storage, path, key)


def read_stored_job_log(storage: Storage, logs_dir: Path, job_id: str) -> list[str]:
    """The job's log lines from the store (the data dir's file, or the bucket's object)."""
    key = job_log_key(job_id)
    if storage.local_path(key) is not None or storage.stat(key) is None:
        return read_job_log(logs_dir, job_id)
    reader = storage.open_read(key)
    try:
        text = b"".join(iter(lambda: reader.read(1024 * 1024), b"")).decode("utf-8", "replace")
    finally:
        reader.close()
    return text.splitlines()
