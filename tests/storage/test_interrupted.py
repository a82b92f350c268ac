"""A writer killed in the middle of an upload to the bucket leaves nothing visible, and its
pending multipart upload is removed by the housekeeping call (`abort_stale_uploads`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.storage.seaweed import s3_settings

from lipforge.storage.backend import open_storage

MIB = 1024 * 1024
WRITER = """
import sys
from pathlib import Path
from lipforge.config import Settings
from lipforge.storage.backend import open_storage, put_file
put_file(open_storage(Settings.from_env()), Path(sys.argv[1]), "outputs/b/killed.mp4")
"""


def test_a_writer_killed_mid_upload_leaves_no_object_and_its_upload_is_aborted(
    seaweed, bucket, tmp_path
):
    settings = s3_settings(seaweed, bucket, tmp_path / "data")
    storage = open_storage(settings)
    source = tmp_path / "render.mp4"
    with source.open("wb") as handle:
        for _ in range(96):
            handle.write(os.urandom(MIB))
    env = {**os.environ, **seaweed.env(settings.storage_url)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(source)], env=env)
    s3, prefix = seaweed.client(), settings.storage_url.split("/", 3)[3] + "/"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and writer.poll() is None:
            uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
            if uploads:
                time.sleep(0.3)  # some parts on their way
                break
            time.sleep(0.05)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    assert uploads, "the writer finished before it could be killed"
    assert storage.stat("outputs/b/killed.mp4") is None
    assert storage.abort_stale_uploads(0) >= 1
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []) == []
    assert storage.stat("outputs/b/killed.mp4") is None
