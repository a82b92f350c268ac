"""Compression never touches media or archives: Range works for a client that accepts gzip
(as every browser does), while JSON answers are gzipped. (Event streams are excluded by
Starlette's own list, which app.NEVER_COMPRESSED extends.)"""

from __future__ import annotations

from batch_helpers import FakeWorker, add_asset

GZIP_CLIENT = {"Accept-Encoding": "gzip, deflate"}


def test_outputs_archives_and_events_are_sent_as_they_are(api) -> None:
    sessions = api.app.state.sessions
    audio = add_asset(sessions, "audio", "lecture.wav")
    video = add_asset(sessions, "video", "teacher.mp4")
    body = {"audio_asset_ids": [audio], "video_asset_ids": [video]}
    batch = api.post("/api/batches", json=body).json()
    worker = FakeWorker(sessions, api.app.state.settings.data_dir.outputs)
    content = b"\x00\x00\x00\x18ftypmp42" + b"compressible " * 4000
    worker.succeed(worker.claim(), content)
    output = f"/api/jobs/{batch['jobs'][0]['id']}/output"
    whole = api.get(output, headers=GZIP_CLIENT)
    assert "content-encoding" not in whole.headers and whole.content == content
    ranged = api.get(output, headers={**GZIP_CLIENT, "Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == content[100:200]
    archive = api.get(f"/api/batches/{batch['id']}/archive", headers=GZIP_CLIENT)
    assert "content-encoding" not in archive.headers
    snapshot = api.get(f"/api/batches/{batch['id']}", headers=GZIP_CLIENT)
    assert snapshot.headers.get("content-encoding") == "gzip"  # JSON is worth it
