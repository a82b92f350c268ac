"""POST /api/scripts/plan: the page counts a script with the server's own splitter."""

from __future__ import annotations

from batch_helpers import add_asset

from lipforge.speech.sentences import split_script

LONG_SENTENCE = "今天我们来学习光合作用，它是植物利用阳光，把水和二氧化碳变成葡萄糖和氧气的过程。"
SCRIPT = LONG_SENTENCE * 3 + "谢谢大家！"


def test_long_sentences_are_cut_at_commas_as_the_speech_stage_cuts_them(api):
    plan = api.post("/api/scripts/plan", json={"text": SCRIPT, "voice": "espeak-zh"})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["pieces"] == [piece.text for piece in split_script(SCRIPT, 32)]
    assert body["sentences"] == 4 and len(body["pieces"]) > body["sentences"]
    assert body["language"] == "zh" and 15 < body["estimated_s"] < 40


def test_the_batch_progress_starts_from_the_same_estimate(api):
    sessions = api.app.state.sessions
    video = add_asset(sessions, "video", "王老师.mp4", duration_s=60.0, fps=25.0)
    plan = api.post("/api/scripts/plan", json={"text": SCRIPT, "voice": "espeak-zh"}).json()
    body = {"video_asset_ids": [video], "scripts": [{"text": SCRIPT, "voice": "espeak-zh"}]}
    batch = api.post("/api/batches", json=body).json()
    assert abs(batch["frames_total"] - plan["estimated_s"] * 25) <= 25 * 0.1


def test_an_unknown_voice_is_named(api):
    refused = api.post("/api/scripts/plan", json={"text": "你好。", "voice": "nobody"})
    assert refused.status_code == 404 and refused.json()["params"]["voice"] == "nobody"
