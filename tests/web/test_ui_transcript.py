"""The "what it says" box on an audio's card, in Chinese and in English: Debian's chromium
(playwright-core) against a real `lipforge serve`. Typing the words and saving keeps them on
the audio's asset (the API shows them), the page says so in the reader's language, and the
box shows them again after a reload. Needs what tests/web/test_ui.py needs (.ci/run)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_ui import WEB_DIR, Server, _ensure_ui_built

DRIVER = Path(__file__).with_name("transcript_driver.mjs")
CHROMIUM = Path("/usr/bin/chromium")
DRIVER_TIMEOUT_S = 120.0
WORDS = {"zh-CN": "大家好。今天我们学习月亮和星星。", "en": "Hello everyone. Today: the moon."}
LABELS = {"zh-CN": ("音频内容", "已保存"), "en": ("What it says", "Saved")}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory, speech_zh_wav):
    assert CHROMIUM.exists(), "Debian chromium is missing: apt-get install -y chromium"
    _ensure_ui_built()
    tmp_path = tmp_path_factory.mktemp("ui-transcript")
    server = Server(tmp_path, None)
    server.start()
    lipforge = str(Path(sys.executable).with_name("lipforge"))
    env = {**server.env, "XDG_DATA_HOME": str(tmp_path / "client"), "COLUMNS": "200"}
    uploaded = subprocess.run(
        [lipforge, "upload", str(speech_zh_wav), "--server", server.base_url.rstrip("/")],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    )  # fmt: skip
    asset_id = re.search(r"asset ([0-9a-f]{32})", uploaded.stdout).group(1)
    try:
        yield server, asset_id, tmp_path
    finally:
        server.stop()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_what_it_says_box_keeps_the_words(served, lang):
    server, asset_id, tmp_path = served
    config = tmp_path / f"driver-{lang}.json"
    config.write_text(
        json.dumps(
            {
                "baseUrl": server.base_url,
                "webDir": str(WEB_DIR),
                "screenshots": str(tmp_path),
                "assetId": asset_id,
                "lang": lang,
                "text": WORDS[lang],
            }
        )
    )
    run = subprocess.run(
        ["node", str(DRIVER), str(config)], capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and "error" not in result, json.dumps(result)[-3000:] + run.stderr
    label, saved = LABELS[lang]
    assert result["label"] == label and result["toast"].startswith(saved)
    assert result["openAfter"] is True and result["textAfter"] == WORDS[lang]
    assert result["browserErrors"] == []
    asset = httpx.get(f"{server.base_url}api/assets/{asset_id}").json()
    assert asset["transcript"] == WORDS[lang]
