"""Interop with two real tus clients, each interrupted mid-upload and resumed: tuspy and
tus-js-client under Node (installed by scripts/test.sh with `npm ci` in tests/js)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from tusclient import client as tus

from .helpers import TUS, asset_sha256, sha256_of, wait_for_result

JS_DIR = Path(__file__).parent.parent / "js"
NODE_TIMEOUT_S = 60
CHUNK_BYTES = 32 * 1024


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory, make_talking_head) -> Path:
    """A clip of a few hundred KiB, so an upload has many chunks to interrupt."""
    path = tmp_path_factory.mktemp("interop") / "teacher.mp4"
    return make_talking_head(path, 3.0, (512, 512), with_audio=True)


def check_asset(server_url: str, upload_url: str, source: Path) -> None:
    with httpx.Client(base_url=server_url) as client:
        status = wait_for_result(client, upload_url)
        assert status["state"] == "done", status
        assert status["file_name"] == source.name
        assert asset_sha256(client, status["asset_id"]) == sha256_of(source)


def test_tuspy_interrupted_then_resumed(live_server, big_clip):
    size = big_clip.stat().st_size
    endpoint = live_server.url + "/api/uploads/"
    first = tus.TusClient(endpoint).uploader(
        str(big_clip), chunk_size=CHUNK_BYTES, metadata={"filename": big_clip.name},
        upload_checksum=True,
    )  # fmt: skip
    first.upload(stop_at=size // 2)
    url = first.url
    offset = int(httpx.head(url, headers=TUS).headers["Upload-Offset"])
    assert size // 2 <= offset < size
    resumed = tus.TusClient(endpoint).uploader(str(big_clip), url=url, chunk_size=CHUNK_BYTES)
    assert resumed.offset == offset
    resumed.upload()
    check_asset(live_server.url, url, big_clip)


def run_node(options: dict) -> dict:
    completed = subprocess.run(
        ["node", str(JS_DIR / "upload.mjs"), json.dumps(options)],
        cwd=JS_DIR, capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
    )  # fmt: skip
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def node_ready() -> None:
    if shutil.which("node") is None or not (JS_DIR / "node_modules" / "tus-js-client").exists():
        pytest.fail("tus-js-client is not installed: run scripts/test.sh (npm ci in tests/js)")


@pytest.mark.parametrize("parallel", [1, 3])
def test_tus_js_client_interrupted_then_resumed(
    live_server, big_clip, tmp_path, node_ready, parallel
):
    size = big_clip.stat().st_size
    options = {
        "endpoint": live_server.url + "/api/uploads/",
        "file": str(big_clip),
        "chunkSize": CHUNK_BYTES,
        "parallel": parallel,
        "storage": str(tmp_path / "tus-urls.json"),
    }
    aborted = run_node({**options, "stopAfterBytes": size // 2})
    assert aborted.get("aborted"), aborted
    stored = list(json.loads((tmp_path / "tus-urls.json").read_text()).values())
    assert len(stored) == 1, "tus-js-client kept no URL to resume from"
    finished = run_node(options)
    assert "url" in finished, finished
    if parallel == 1:
        assert finished["url"] == aborted["url"] == stored[0]["uploadUrl"]
    else:
        concat = httpx.head(finished["url"], headers=TUS).headers["Upload-Concat"]
        partial_paths = [url[url.index("/api/") :] for url in stored[0]["parallelUploadUrls"]]
        assert concat == "final;" + " ".join(partial_paths)
    check_asset(live_server.url, finished["url"], big_clip)
