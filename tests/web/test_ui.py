"""The browser UI end to end: Debian's chromium (driven by playwright-core from the UI's own
npm dependencies) against a real `lipforge serve` subprocess with a token, so the page
logs in, uploads through tus with a refresh mid-upload, and follows a batch to 100 %.

Needs: `/usr/bin/chromium` (`apt-get install chromium`, done by .ci/run), Node.js, and the
UI built (`npm ci && npm run build` in src/lipforge/web, done by scripts/setup.sh; this
test builds it when node_modules is there but dist/ is not). Screenshots land in the
test's tmp dir (or LIPFORGE_UI_SCREENSHOTS) for a person to look at.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "src" / "lipforge" / "web"
DRIVER = Path(__file__).with_name("ui_driver.mjs")
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "ui-test-token-7f3a9c"
SERVER_START_TIMEOUT_S = 60.0
DRIVER_TIMEOUT_S = 420.0
CANCEL_SEEN_WITHIN_MS = 5000  # the worker stops within 2 s; the page hears of it at once
LECTURE_TEXT = " ".join(["This lecture runs long enough to cancel while it renders."] * 6)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_ui_built() -> None:
    if (WEB_DIR / "dist" / "index.html").is_file():
        return
    if not (WEB_DIR / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB_DIR, check=True)
    subprocess.run(["npm", "run", "build"], cwd=WEB_DIR, check=True)


@pytest.fixture(scope="module")
def browser_tools() -> None:
    assert CHROMIUM.exists(), "Debian chromium is missing: apt-get install -y chromium"
    assert shutil.which("node"), "Node.js is missing: apt-get install -y nodejs npm"
    _ensure_ui_built()
    assert (WEB_DIR / "node_modules" / "playwright-core").is_dir(), "run npm ci in src/lipforge/web"


@pytest.fixture()
def server(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "LIPFORGE_TOKEN": TOKEN, "LIPFORGE_DATA": str(tmp_path / "data")}
    log = (tmp_path / "serve.log").open("wb")
    lipforge = str(Path(sys.executable).with_name("lipforge"))
    process = subprocess.Popen(
        [lipforge, "serve", "--port", str(port), "--data", str(tmp_path / "data")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            if httpx.get(f"{base_url}api/health", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError("lipforge serve did not answer /api/health in time")
    yield base_url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture()
def ui_video(make_talking_head, tmp_path: Path) -> Path:
    """Big enough that a throttled upload takes seconds, small enough to render quickly."""
    return make_talking_head(tmp_path / "presenter.mp4", seconds=2.0, size=(720, 720))


@pytest.fixture()
def long_audio(make_speech, tmp_path: Path) -> Path:
    return make_speech(tmp_path / "lecture.wav", LECTURE_TEXT, "en-us")


def _run_driver(config: dict, tmp_path: Path) -> dict:
    config_path = tmp_path / "driver.json"
    config_path.write_text(json.dumps(config))
    done = subprocess.run(
        ["node", str(DRIVER), str(config_path)],
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT_S,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"driver printed no result: {done.stdout[-2000:]} {done.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert done.returncode == 0 and "error" not in result, json.dumps(result, indent=1)[-6000:]
    return result


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_survives_refresh_and_batch_reaches_100_percent(
    browser_tools,
    server: str,
    ui_video: Path,
    speech_en_wav: Path,
    no_face_video: Path,
    broken_garbage: Path,
    long_audio: Path,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("LIPFORGE_UI_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    result = _run_driver(
        {
            "baseUrl": server,
            "token": TOKEN,
            "video": str(ui_video),
            "audio": str(speech_en_wav),
            "noFaceVideo": str(no_face_video),
            "garbage": str(broken_garbage),
            "longAudio": str(long_audio),
            "screenshots": str(shots),
            "webDir": str(WEB_DIR),
        },
        tmp_path,
    )
    assert result["loggedIn"], "the page did not send the browser to /login and back"
    assert result["browserErrors"] == []

    video = result["video"]
    assert 0 < video["percentBeforeRefresh"] < 100
    assert "presenter.mp4" in result["interruptedText"]
    after = video["requestsAfter"]
    assert [r["method"] for r in after if r["method"] == "POST"] == [], after
    resumed = [int(r["offset"]) for r in after if r["method"] == "PATCH"]
    assert resumed and resumed[0] > 0, f"the upload started again from zero: {after}"

    headers = {"Authorization": f"Bearer {TOKEN}"}
    asset = httpx.get(f"{server}api/assets/{video['assetId']}", headers=headers).json()
    assert asset["sha256"] == _sha256(ui_video)
    assert asset["kind"] == "video"
    assert result["audio"]["assetId"]
    assert result["summary"] == "1 video will be made."
    garbage = result["garbage"]
    assert garbage["assetId"] is None and "garbage.mp4 — refused: " in garbage["text"], garbage

    for run in ("live", "polling"):
        watched = result[run]
        assert watched.get("states") == ["succeeded"], (run, watched)
        assert 100 in watched["percents"]
    assert "live" in result["live"]["modes"]
    assert result["polling"]["modes"] == ["polling"]
    batch = httpx.get(f"{server}api/batches/{result['batchId']}", headers=headers).json()
    assert [job["status"] for job in batch["jobs"]] == ["succeeded"]
    output = httpx.get(f"{server}api/jobs/{batch['jobs'][0]['id']}/output", headers=headers)
    assert output.status_code == 200 and len(output.content) > 1000

    failing = result["failing"]
    assert failing["reason"].lower().startswith("no face found in "), failing
    states = failing["statesAfterRetry"]
    assert states[0] == "failed" and states[1] in ("queued", "running") and states[-1] == "failed"
    cancelled = result["cancelled"]
    assert cancelled["cancelMs"] < CANCEL_SEEN_WITHIN_MS, cancelled
    assert cancelled["counts"].endswith("1 cancelled"), cancelled
    archive = result["archive"]
    assert archive["archiveStatus"] == 200 and archive["archiveMagic"] == "PK"
    assert archive["archiveBytes"] > 1000
    for name in ("interrupted", "library", "batch", "list", "failed", "cancelled"):
        assert Path(result["shots"][name]).stat().st_size > 5000
