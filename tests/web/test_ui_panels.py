"""Two panels a Chinese teacher reads closely, in Chinese and in English: Debian's chromium
(playwright-core) against a real `lipforge serve` (panels_driver.mjs drives the page).

- The batch list: a batch whose three jobs ended with two videos and one failure (a video
  with no face) says "2 个完成，1 个失败" / "2 done, 1 failed" on an amber badge, its bar
  green for two thirds and red for the rest, not a red 失败 badge and a full red bar; the
  badge stays inside its card at 390 px; the batch's own page draws its bar alike.
- The Voices page: a voice on an OpenAI-compatible server that is down fails with the
  engine named in the reader's language ("OpenAI 兼容接口"), its address and the cause
  ("连接被拒绝"); the
  server's own English sentence is folded away; languages are named, not coded.
- Uppy's upload panel: the time left is written the page's way ("剩余 1 分 8 秒", "1 min 08 s
  left"), close to what the throttled link really needs, also right after the page was
  refreshed and the upload resumed (not "剩余 0 秒"); sizes in MiB/KiB; one "done" label.

Needs what tests/web/test_ui.py needs (.ci/run installs chromium and a Chinese font).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_ui import CHROMIUM, WEB_DIR, Server, _ensure_ui_built
from tests.support.serving import free_port

DRIVER = Path(__file__).with_name("panels_driver.mjs")
DRIVER_TIMEOUT_S = 180.0
RENDER_TIMEOUT_S = 300.0
THROTTLE_BYTES_PER_S = 20 * 1024
REFRESH_AT_PERCENT = 40
RESUME_WATCH_MS = 4000
PARTIAL = {"zh-CN": "2 个完成，1 个失败", "en": "2 done, 1 failed"}
GREEN, RED = "rgb(134, 239, 172)", "rgb(254, 202, 202)"  # style.css: the partial bar's two parts
TIME_LEFT = {
    "zh-CN": re.compile(r"剩余 (?:(\d+) 分 )?(\d+) 秒"),
    "en": re.compile(r"(?:(\d+) min )?(\d+) s left"),
}
ESTIMATING = {"zh-CN": "正在估算剩余时间…", "en": "estimating the time left…"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    assert CHROMIUM.exists(), "Debian chromium is missing: apt-get install -y chromium"
    _ensure_ui_built()
    tmp_path = tmp_path_factory.mktemp("ui-panels")
    server = Server(tmp_path, None)
    server.start()
    try:
        yield server, tmp_path
    finally:
        server.stop()


def _drive(tmp_path: Path, name: str, **config) -> dict:
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps({"webDir": str(WEB_DIR), "screenshots": str(tmp_path), **config}),
        encoding="utf-8",
    )
    run = subprocess.run(
        ["node", str(DRIVER), str(path)], capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S
    )
    lines = run.stdout.strip().splitlines()
    assert lines, run.stderr[-3000:]
    result = json.loads(lines[-1])
    assert run.returncode == 0 and "error" not in result, json.dumps(result)[-4000:] + run.stderr
    assert result["browserErrors"] == []
    return result


def _import(server: Server, *paths: Path) -> list[str]:
    lipforge = str(Path(sys.executable).with_name("lipforge"))
    done = subprocess.run(
        [lipforge, "import", *map(str, paths), "--data", str(server.data)],
        capture_output=True, text=True, timeout=120, env=server.env, check=True,
    )  # fmt: skip
    return [line.split("\t")[0] for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def partial_batch(served, make_talking_head, no_face_video) -> str:
    """A batch of one short script on three videos: two with a face, one without."""
    server, tmp_path = served
    faces = [
        make_talking_head(tmp_path / f"老师{n}.mp4", seconds=1.5, size=(192, 192)) for n in (1, 2)
    ]
    video_ids = _import(server, *faces, no_face_video)
    body = {
        "name": "第一课",
        "scripts": [{"text": "大家好。", "voice": "espeak-zh"}],
        "video_asset_ids": video_ids,
    }
    created = httpx.post(f"{server.base_url}api/batches", json=body, timeout=30)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while time.monotonic() < deadline:
        batch = httpx.get(f"{server.base_url}api/batches/{batch_id}", timeout=10).json()
        if batch["finished"]:
            break
        time.sleep(1.0)
    assert batch["finished"], batch
    assert batch["counts"].get("succeeded") == 2 and batch["counts"].get("failed") == 1, batch
    return batch_id


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_partly_done_batch_says_both_counts_in_the_list(served, partial_batch, lang):
    server, tmp_path = served
    result = _drive(
        tmp_path, f"batches-{lang}", mode="batches", lang=lang, baseUrl=server.base_url,
        batchId=partial_batch,
    )  # fmt: skip
    for width, row in result["rows"].items():
        assert row["state"] == "partial", (width, row)
        assert row["pillText"] == PARTIAL[lang], (width, row)
        assert "partial" in row["pillClass"] and "failed" not in row["pillClass"]
        assert row["fillColor"] == GREEN and row["barColor"] == RED, (width, row)
        assert abs(row["fillShare"] - 2 / 3) < 0.02, (width, row)
        assert "2" in row["label"] and "1" in row["label"], row
        assert row["pillInside"], f"the badge sticks out of its card at {width} px"
        failed_count = PARTIAL[lang].split("，")[-1].split(", ")[-1]
        assert failed_count not in row["meta"], row  # not a third time in the row
    overall = result["page"]  # the batch's own page: the same two-colour bar, both counts
    assert overall["state"] == "partial" and PARTIAL[lang] in overall["label"], overall
    assert overall["fillColor"] == GREEN and overall["barColor"] == RED, overall
    assert abs(overall["fillShare"] - 2 / 3) < 0.02, overall


def _seconds(match: re.Match) -> int:
    return int(match.group(1) or 0) * 60 + int(match.group(2))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_upload_panel_writes_the_time_left_the_pages_way(
    served, make_talking_head, tmp_path, lang
):
    server, _ = served
    video = make_talking_head(tmp_path / f"讲课-{lang}.mp4", seconds=6.0, size=(480, 480))
    size_bytes = video.stat().st_size
    result = _drive(
        tmp_path, "upload", mode="upload", lang=lang, baseUrl=server.base_url, video=str(video),
        bytesPerS=THROTTLE_BYTES_PER_S, refreshAtPercent=REFRESH_AT_PERCENT,
        resumeWatchMs=RESUME_WATCH_MS,
    )  # fmt: skip
    assert result["outcome"] == "asset"
    samples = result["before"] + result["afterResume"]
    pattern = TIME_LEFT[lang]
    shown = [(s, pattern.search(s["text"])) for s in samples]
    assert any(match for _, match in shown), f"no time left was shown: {samples}"
    for sample, match in shown:
        text = sample["text"]
        # sizes in binary units, as everywhere on the page; no Uppy time like "1m 08s"
        assert re.search(r"\d [KM]iB", text) and not re.search(r"\d+m \d+s|\d+s\b|MIB|MB\b", text)
        if lang == "zh-CN":
            latin = set(re.findall(r"[A-Za-z]+", text)) - {"B", "KiB", "MiB"}
            assert not latin, text
        if match is None:
            assert ESTIMATING[lang] in text, text
            continue
        # what the throttled link really needs for what is left, give or take
        needed_s = size_bytes * (1 - sample["percent"] / 100) / THROTTLE_BYTES_PER_S
        assert 0.4 * needed_s - 2 <= _seconds(match) <= 2.5 * needed_s + 2, (sample, needed_s)
    # it resumed where it was (not from zero), and said nothing like "0 s left" meanwhile
    resumed_at = max(s["percent"] for s in result["afterResume"] if s["atMs"] < 1500)
    assert resumed_at >= REFRESH_AT_PERCENT - 10, result["afterResume"][:6]
    done = result["done"]
    assert not re.search(r"KIB|MIB|GIB", done), done  # Uppy's CSS upper-cased our units
    # one wording for "done" (not 上传完成 / 上传完毕 / 完成 at once)
    said = re.findall(
        r"上传完成|上传完毕|完成|完毕" if lang == "zh-CN" else r"(?i)\w* ?complete", done
    )
    assert said and set(said) == {"上传完成" if lang == "zh-CN" else "Upload complete"}, done


VOICES = {
    "zh-CN": {"name": "远程老师", "test": "试听这个音色", "engine": "OpenAI 兼容接口",
              "words": "服务器的原话（英文）", "espeak-zh": "中文"},
    "en": {"name": "studio", "test": "Test this voice", "engine": "OpenAI-compatible TTS",
           "words": "The server's own words", "espeak-zh": "Chinese"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_dead_speech_server_is_named_in_the_readers_language(served, lang):
    server, tmp_path = served
    words = VOICES[lang]
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    result = _drive(
        tmp_path, f"voices-{lang}", mode="voices", lang=lang, baseUrl=server.base_url,
        voiceName=words["name"], testLabel=words["test"], deadUrl=dead_url,
    )  # fmt: skip
    assert result["engineOption"] == words["engine"]
    failure = result["failure"]
    assert words["engine"] in failure and dead_url in failure, failure
    if lang == "zh-CN":
        assert failure.startswith("无法连接语音合成服务 OpenAI 兼容接口（"), failure
        assert "连接被拒绝" in failure and "Errno" not in failure, failure  # the cause, in Chinese
        assert "OpenAI-compatible" not in failure
    assert result["serverWords"] == {"open": False, "summary": words["words"], "hidden": True}
    assert result["facts"][words["name"]][0] == words["engine"]
    assert words["espeak-zh"] in result["facts"]["espeak-zh"], result["facts"]
