"""The API and a worker over each store: a client cannot tell the data dir from a bucket.

Files arrive by tus and become assets in the store; a worker (in process, a runner that
hashes its inputs instead of rendering) reads them through its input cache and publishes
its outputs by a staged write; previews (Range), outputs, the batch zip and deletes
answer the same in both modes. With a redirect threshold, S3 downloads answer 307 to a
presigned URL that serves the same bytes and ranges.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import zipfile
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.storage.seaweed import s3_settings
from tests.uploads.helpers import send_file, wait_for_result

from lipforge.api.app import create_app
from lipforge.assets.library import asset_key, get_asset
from lipforge.jobs.worker import Worker, WorkerTuning
from lipforge.render.runner import RenderContext, RenderRunner
from lipforge.storage.backend import open_storage

TOKEN = "storage-test-token-0123456789"
TUNING = WorkerTuning(idle_poll_s=0.05, reap_interval_s=0.5, progress_min_interval_s=0.05)
WAIT_S = 60.0


def hash_inputs(context: RenderContext, on_progress, should_cancel) -> None:
    """Stands in for a render: the output names the bytes the worker got for its inputs."""
    inputs = (context.audio_path, context.video_path)
    digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in inputs]
    on_progress(1, 1)
    context.output_path.write_bytes(f"{digests[0]} {digests[1]}\n".encode() * 1000)


@pytest.fixture
def client(store_settings):
    settings = replace(store_settings, token=TOKEN)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def run_worker_until_done(client, batch_id: str, run_job=hash_inputs) -> dict:
    state = client.app.state
    runner = RenderRunner(run_job)
    worker = Worker(state.settings, state.sessions, 2, run_job=runner, tuning=TUNING)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            batch = client.get(f"/api/batches/{batch_id}").json()
            if batch["status"] in ("succeeded", "failed", "cancelled"):
                return batch
            time.sleep(0.1)
        raise AssertionError(f"batch {batch_id} did not finish: {batch}")
    finally:
        stop.set()
        thread.join(30)


def upload(client, path) -> str:
    status = wait_for_result(client, send_file(client, path, chunk_bytes=256 * 1024))
    assert status["state"] == "done", status
    return status["asset_id"]


def test_assets_and_outputs_download_alike_from_either_store(
    client, talking_head_512, talking_head_720, speech_en_wav
):
    settings, sessions = client.app.state.settings, client.app.state.sessions
    storage = open_storage(settings)
    audio = upload(client, speech_en_wav)
    videos = [upload(client, talking_head_512), upload(client, talking_head_720)]
    video_bytes = talking_head_512.read_bytes()
    stored = storage.stat(asset_key(get_asset(sessions, videos[0])))
    assert stored is not None and stored.size_bytes == len(video_bytes)
    in_data_dir = [p for p in settings.data_dir.assets.rglob("*") if p.is_file()]
    assert len(in_data_dir) == (3 if storage.local_path("assets/x") else 0)
    assert not [p for p in settings.data_dir.uploads.iterdir() if not p.name.endswith(".info")]

    content = f"/api/assets/{videos[0]}/content"
    assert client.get(content).content == video_bytes
    part = client.get(content, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == video_bytes[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(video_bytes)}"
    tail = client.get(content, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == video_bytes[-10:]
    past = client.get(content, headers={"Range": f"bytes={len(video_bytes)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(video_bytes)}"
    head = client.head(content)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(video_bytes))
    assert head.headers["accept-ranges"] == "bytes"
    same = {"Range": "bytes=0-9", "If-Range": head.headers["etag"]}
    assert client.get(content, headers=same).status_code == 206
    changed = {"Range": "bytes=0-9", "If-Range": '"another-version"'}
    assert client.get(content, headers=changed).content == video_bytes

    body = {"audio_asset_ids": [audio], "video_asset_ids": videos}
    created = client.post("/api/batches", json=body)
    batch = run_worker_until_done(client, created.json()["id"])
    assert batch["status"] == "succeeded", batch
    expected = {
        job["output_name"]: (
            f"{hashlib.sha256(speech_en_wav.read_bytes()).hexdigest()} "
            f"{hashlib.sha256(path.read_bytes()).hexdigest()}\n"
        ).encode()
        * 1000
        for job, path in zip(batch["jobs"], (talking_head_512, talking_head_720), strict=True)
    }
    for job in batch["jobs"]:
        output = client.get(f"/api/jobs/{job['id']}/output")
        assert output.status_code == 200 and output.content == expected[job["output_name"]]
        assert output.headers["content-type"] == "video/mp4"
        ranged = client.get(f"/api/jobs/{job['id']}/output", headers={"Range": "bytes=5-9"})
        assert ranged.status_code == 206 and ranged.content == expected[job["output_name"]][5:10]
    archive = zipfile.ZipFile(io.BytesIO(client.get(batch["archive_url"]).content))
    assert {name: archive.read(name) for name in archive.namelist()} == expected
    assert list((settings.data_dir.outputs / ".partial").iterdir()) == []

    client.delete(f"/api/batches/{batch['id']}")
    assert all(storage.stat(f"outputs/{batch['id']}/{name}") is None for name in expected)
    client.delete(f"/api/assets/{videos[1]}")
    assert client.get(f"/api/assets/{videos[1]}/content").status_code == 404


def test_large_s3_downloads_redirect_to_a_presigned_url_with_the_same_bytes(
    seaweed, bucket, tmp_path, talking_head_512
):
    public = seaweed.endpoint.replace("127.0.0.1", "localhost")  # the name clients use
    settings = s3_settings(
        seaweed,
        bucket,
        tmp_path / "data",
        token=TOKEN,
        s3_redirect_min_bytes=1000,
        s3_public_endpoint_url=public,
    )
    settings.data_dir.ensure()
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        asset_id = upload(client, talking_head_512)
        answer = client.get(f"/api/assets/{asset_id}/content", follow_redirects=False)
    assert answer.status_code == 307
    location = answer.headers["location"]
    assert location.startswith(public + "/") and "X-Amz-Signature" in location
    data = talking_head_512.read_bytes()
    assert httpx.get(location).content == data
    ranged = httpx.get(location, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == data[:100]


def test_an_output_whose_job_was_cancelled_at_the_end_is_never_published(
    client, talking_head_512, speech_en_wav
):
    audio, video = upload(client, speech_en_wav), upload(client, talking_head_512)
    batch = client.post(
        "/api/batches", json={"audio_asset_ids": [audio], "video_asset_ids": [video]}
    ).json()

    def write_then_cancel(context: RenderContext, on_progress, should_cancel) -> None:
        hash_inputs(context, on_progress, should_cancel)
        assert client.post(f"/api/jobs/{context.job.id}/cancel").status_code == 200

    done = run_worker_until_done(client, batch["id"], write_then_cancel)
    assert done["status"] == "cancelled", done
    storage = open_storage(client.app.state.settings)
    assert storage.stat(f"outputs/{batch['id']}/{done['jobs'][0]['output_name']}") is None
    assert storage.abort_stale_uploads(0) == 0, "the staged output upload was left pending"
