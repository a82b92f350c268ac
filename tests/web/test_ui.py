"""The browser UI end to end, in Chinese and in English: Debian's chromium (driven by
playwright-core from the UI's own npm dependencies) against a real `lipforge serve`.

zh-CN (a server with a token): the login page, an upload that survives a refresh, a refused
file, a script with a voice and its preview, "1 × 1", the batch to a finished video playing
in the gallery with its subtitles, a failing job's reason in Chinese, the machine panel
pushing live numbers, and every page free of English outside data and units.
en (the open loopback server): ?lang= forces English, the switch is remembered, no "Log
out"; a long scripted job survives a server restart (the page says it reconnects), then
cancel, retry and cancel batch; a failing job's reason in English.

Needs `/usr/bin/chromium` and a Chinese font (.ci/run installs both), Node.js, and the UI
built (this test builds it when node_modules is there but dist/ is not). Screenshots of
every page at 390 px and 1440 px land in the test's tmp dir (or LIPFORGE_UI_SCREENSHOTS).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.serving import free_port as _free_port

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "src" / "lipforge" / "web"
DRIVER = Path(__file__).with_name("ui_driver.mjs")
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "ui-test-token-7f3a9c"
SERVER_START_TIMEOUT_S = 90.0
DRIVER_TIMEOUT_S = 480.0
SCRIPT_ZH = "大家好。请看屏幕。"
SCRIPT_EN_LONG = " ".join(
    [
        "This lecture runs long enough to restart the server while it renders.",
        "The page should say that it is reconnecting, and then carry on by itself.",
    ]
    * 6  # long enough that the render is still going after the restart, however fast
)
SCRIPT_EN = "Hello there. This is a short test."

pytestmark = pytest.mark.slow


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


class Server:
    """`lipforge serve` on a fixed port and data dir, which a test may restart."""

    def __init__(self, tmp_path: Path, token: str | None) -> None:
        self.port = _free_port()
        self.data = tmp_path / "data"
        self.log_path = tmp_path / "serve.log"
        self.env = {**os.environ, "LIPFORGE_DATA": str(self.data)}
        self.env.pop("LIPFORGE_TOKEN", None)
        if token:
            self.env["LIPFORGE_TOKEN"] = token
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        lipforge = str(Path(sys.executable).with_name("lipforge"))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [lipforge, "serve", "--port", str(self.port), "--data", str(self.data)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base_url}api/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("lipforge serve did not answer /api/health in time")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture()
def make_server(tmp_path: Path):
    servers: list[Server] = []

    def make(token: str | None) -> Server:
        server = Server(tmp_path, token)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


def _run_driver(config: dict, tmp_path: Path, server: Server) -> dict:
    """Runs the driver; restarts `server` whenever the driver asks ({"restart": true})."""
    config_path = tmp_path / "driver.json"
    config_path.write_text(json.dumps({**config, "restartFlag": str(tmp_path / "restarted")}))
    driver = subprocess.Popen(
        ["node", str(DRIVER), str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + DRIVER_TIMEOUT_S
        for line in driver.stdout:
            lines.append(line)
            if line.startswith('{"restart"'):
                server.stop()
                time.sleep(1.0)
                server.start()
                (tmp_path / "restarted").touch()
            assert time.monotonic() < deadline, "the UI driver ran too long"
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    results = [line for line in lines if line.startswith("{") and '"steps"' in line]
    assert results, (
        f"driver printed no result: {''.join(lines)[-2000:]} {driver.stderr.read()[-3000:]}"
    )
    result = json.loads(results[-1])
    print(json.dumps(result["steps"]))  # where the time went (pytest -s)
    assert driver.returncode == 0 and "error" not in result, json.dumps(result, indent=1)[-6000:]
    return result


def _config(server: Server, run: str, tmp_path: Path, **files: Path) -> dict:
    shots = Path(os.environ.get("LIPFORGE_UI_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    return {
        "run": run,
        "baseUrl": server.base_url,
        "token": TOKEN,
        "screenshots": str(shots),
        "webDir": str(WEB_DIR),
        "script": SCRIPT_ZH,
        "longScript": SCRIPT_EN_LONG,
        "shortScript": SCRIPT_EN,
        **{name: str(path) for name, path in files.items()},
    }


@pytest.fixture()
def presenter(make_talking_head, tmp_path: Path) -> Path:
    """Big enough that a throttled upload takes seconds, small enough to render quickly."""
    return make_talking_head(tmp_path / "presenter.mp4", seconds=2.0, size=(320, 320))


@pytest.fixture()
def small_presenter(make_talking_head, tmp_path: Path) -> Path:
    return make_talking_head(tmp_path / "teacher.mp4", seconds=2.0, size=(256, 256))


def test_chinese_workflow_from_upload_to_gallery(
    browser_tools, make_server, presenter, no_face_video, broken_garbage, tmp_path
) -> None:
    server = make_server(TOKEN)
    config = _config(
        server,
        "zh",
        tmp_path,
        video=presenter,
        noFaceVideo=no_face_video,
        garbage=broken_garbage,
    )
    config.update(browserLocale="zh-CN", previewLabel="试听第一句", removeLabel="移除")
    result = _run_driver(config, tmp_path, server)
    assert result["browserErrors"] == []
    login = result["login"]
    assert (login["lang"], login["title"]) == ("zh-CN", "登录") and login["english"] == []
    assert result["htmlLang"] == "zh-CN" and result["logoutVisible"]

    upload = result["upload"]
    assert 0 < upload["percentBeforeRefresh"] < 100 and upload["interrupted"]["offset"] > 0
    assert (
        "presenter.mp4" in upload["interrupted"]["text"]
        and "已上传" in upload["interrupted"]["text"]
    )
    after = upload["requestsAfter"]
    assert [r for r in after if r["method"] == "POST"] == [], after
    resumed = [int(r["offset"]) for r in after if r["method"] == "PATCH"]
    assert resumed and resumed[0] > 0, f"the upload started again from zero: {after}"
    assert upload["assetId"] and upload["outcome"] == "asset"
    assert upload["assetId"] not in upload["text"], "an asset id is not for people"
    assert set(result["ticked"]) == {upload["assetId"], result["noFace"]["assetId"]}

    garbage = result["garbage"]
    assert garbage["outcome"] == "refused" and "被拒绝" in garbage["text"], garbage
    assert "is-error" in garbage["uppyItem"] and "is-complete" not in garbage["uppyItem"]

    assert result["scriptStats"].startswith("2 句 · 约 ") and result["scriptStats"].endswith("秒")
    assert result["previewSeconds"] > 0.5
    assert result["drop"]["dropped"].startswith("第二段文稿")
    assert result["drop"]["summary"] == "2 × 1，将生成 2 个视频。"
    batch = result["batch"]
    assert batch["summary"] == "1 × 1，将生成 1 个视频。"
    assert batch["state"] == "succeeded", batch
    assert any("帧" in detail for detail in batch["details"]), batch["details"]
    # a typed script is named as its box is labelled, in Chinese: no "-script1" in the names
    assert "presenter-文稿1.mp4" in batch["jobText"], batch["jobText"]
    assert batch["name"] == "大家好", batch  # the batch is named after the script's words
    gallery = result["gallery"]
    assert gallery["currentTime"] > 0.2, gallery
    assert gallery["trackSrc"].endswith(".vtt") and gallery["cues"], gallery
    assert any(link.endswith(".srt") for link in gallery["links"]), gallery

    machine = result["machine"]
    assert machine["pushes"][0] != machine["pushes"][1]
    assert "GiB" in machine["text"] and "内存" in machine["text"] and "槽位 1" in machine["text"]

    reason = result["failing"]["reason"]
    assert reason.startswith("在 coffee.mp4 的第 0 秒到第"), reason
    assert result["english"] == {name: [] for name in result["english"]}, result["english"]
    assert len(result["english"]) == 5
    assert result["unlabelled"] == [], result["unlabelled"]
    for name, path in result["shots"].items():
        assert Path(path).stat().st_size > 5000, name


def test_english_forced_remembered_and_surviving_a_restart(
    browser_tools, make_server, small_presenter, no_face_video, tmp_path
) -> None:
    server = make_server(None)
    config = _config(server, "en", tmp_path, video=small_presenter, noFaceVideo=no_face_video)
    config.update(browserLocale="zh-CN", previewLabel="Hear the first sentence")
    result = _run_driver(config, tmp_path, server)
    assert result["browserErrors"] == []
    assert result["forced"]["htmlLang"] == "en" and "New batch" in result["forced"]["nav"]
    assert result["remembered"] == "zh-CN"
    assert not result["logoutVisible"], "an open loopback server has no login to leave"
    assert result["summary"] == "1 × 1 = 1 video will be made."
    assert result["running"]["state"] == "running"
    assert result["restart"]["notice"] and result["restart"]["modes"][-1] == "live", result[
        "restart"
    ]
    assert result["cancelled"]["counts"].endswith("1 cancelled"), result["cancelled"]
    assert result["machine"]["pushes"][0] != result["machine"]["pushes"][1]
    assert "No GPU" in result["machine"]["text"] or "GPU 0" in result["machine"]["text"]
    assert result["failing"]["reason"].startswith("No face found in coffee.mp4 between 0 s and")
