"""What the server reconciles at start, and the 4xx log lines that name the upload."""

from __future__ import annotations

import json
import os

from lipforge.uploads.store import UploadInfo

from .conftest import TUS, create, patch
from .helpers import metadata_for, wait_for_result


def test_an_unverified_checksummed_chunk_is_truncated_at_start(make_api, settings):
    api = make_api()
    url = create(api, 10).headers["Location"]
    patch(api, url, 0, b"abc")
    upload_id = url.rsplit("/", 1)[1]
    info_path = settings.data_dir.uploads / f"{upload_id}.info"
    info = UploadInfo.from_json(json.loads(info_path.read_text()))
    info.unverified_from = 3
    info_path.write_text(json.dumps(info.to_json()))
    with open(settings.data_dir.uploads / upload_id, "ab") as data:
        data.write(b"half-a-chunk")
    restarted = make_api()
    assert restarted.head(url, headers=TUS).headers["Upload-Offset"] == "3"


def test_an_upload_whose_bytes_were_complete_is_finished_at_start(
    make_api, settings, talking_head_512
):
    api = make_api()
    payload = talking_head_512.read_bytes()
    created = create(api, len(payload), Upload_Metadata=metadata_for("late.mp4"))
    upload_id = created.headers["Location"].rsplit("/", 1)[1]
    (settings.data_dir.uploads / upload_id).write_bytes(payload)
    restarted = make_api()
    status = wait_for_result(restarted, f"/api/uploads/{upload_id}")
    assert status["state"] == "done", status


def test_errors_are_logged_with_the_upload_id(api, settings):
    url = create(api, 10).headers["Location"]
    assert patch(api, url, 5, b"abc").status_code == 409
    upload_id = url.rsplit("/", 1)[1]
    lines = [json.loads(line) for line in (settings.data_dir.logs / "lipforge.log").open()]
    rejected = [line for line in lines if line.get("status") == 409]
    assert rejected and all(line["upload_id"] == upload_id for line in rejected)
    assert os.path.exists(settings.data_dir.logs)
