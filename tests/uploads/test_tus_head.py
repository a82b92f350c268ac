"""HEAD (and the GET status JSON): offset, length, metadata, no-store, 404 and 410."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace

from lipforge.uploads.cleaner import remove_expired, upload_cleaner
from lipforge.uploads.protocol import tus_context

from .conftest import TUS, create, patch


def test_head_reports_offset_length_metadata_and_no_store(api):
    metadata = "filename dGVhY2hlci5tcDQ=,is_confidential"
    url = create(api, 10, Upload_Metadata=metadata).headers["Location"]
    patch(api, url, 0, b"12345")
    head = api.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "5"
    assert head.headers["Upload-Length"] == "10"
    assert head.headers["Upload-Metadata"] == metadata
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"
    assert head.content == b""


def test_head_of_unknown_upload_is_404(api):
    assert api.head("/api/uploads/" + "0" * 32, headers=TUS).status_code == 404
    assert api.head("/api/uploads/not-an-id", headers=TUS).status_code == 404
    assert api.head("/api/uploads/..%2F..%2Fetc", headers=TUS).status_code == 404


def test_expired_upload_is_410_then_404_after_the_cleaner(make_api):
    api = make_api(upload_expiry_s=0.3)
    url = create(api, 10).headers["Location"]
    assert api.head(url, headers=TUS).status_code == 200
    time.sleep(0.5)
    assert api.head(url, headers=TUS).status_code == 410
    assert patch(api, url, 0, b"abc").status_code == 410
    context = tus_context(api.app)
    upload_id = url.rsplit("/", 1)[1]
    assert remove_expired(context, set()) == [upload_id]
    assert api.head(url, headers=TUS).status_code == 404
    assert not (context.store.root / upload_id).exists()


def test_status_json_shows_progress(api):
    url = create(api, 10, Upload_Metadata="filename YS5tcDQ=").headers["Location"]
    patch(api, url, 0, b"123")
    status = api.get(url).json()
    assert status["state"] == "receiving"
    assert status["offset_bytes"] == 3
    assert status["size_bytes"] == 10
    assert status["file_name"] == "a.mp4"
    assert status["asset_id"] is None


def test_the_cleaner_service_removes_expired_uploads(make_api, settings):
    api = make_api(upload_expiry_s=0.2)
    expiring = create(api, 10).headers["Location"].rsplit("/", 1)[1]
    time.sleep(0.3)
    app = SimpleNamespace(state=SimpleNamespace(settings=api.app.state.settings))

    async def run_briefly() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(upload_cleaner(app, interval_s=0.05), 0.5)

    asyncio.run(run_briefly())
    assert not (settings.data_dir.uploads / expiring).exists()
    assert not (settings.data_dir.uploads / f"{expiring}.info").exists()
