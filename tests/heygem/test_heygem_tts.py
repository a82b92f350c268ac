"""HeyGem's /v1/invoke in-process: bounded text and body, a default voice by the text's language."""

from __future__ import annotations

import wave

import pytest
from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.api.routes_heygem_tts import MAX_BODY_BYTES
from lipforge.api.routes_heygem_tts import router as tts_router
from lipforge.api.server import companion_app
from lipforge.config import Settings
from lipforge.render.scripts import MAX_SCRIPT_CHARS


@pytest.fixture
def tts(tmp_path):
    main = create_app(Settings(data=tmp_path / "data"))
    with TestClient(main):
        yield TestClient(companion_app(main, [tts_router], "test"))


def test_a_text_longer_than_a_script_is_refused_before_any_speech(tts):
    answer = tts.post("/v1/invoke", json={"text": "好" * (MAX_SCRIPT_CHARS + 1)})
    assert answer.status_code == 422
    assert answer.json()["error"] == "heygem_bad_parameter"
    assert answer.json()["params"] == {"field": "text", "chars": MAX_SCRIPT_CHARS + 1,
                                       "limit": MAX_SCRIPT_CHARS}  # fmt: skip


def test_a_body_larger_than_the_limit_is_refused_while_read(tts):
    answer = tts.post("/v1/invoke", content=b'{"text": "' + b"a" * MAX_BODY_BYTES + b'"}')
    assert answer.status_code == 422 and answer.json()["params"]["limit"] == MAX_BODY_BYTES


@pytest.mark.parametrize(
    ("text", "voice"), [("Good morning, everyone.", "espeak-en"), ("大家早上好。", "espeak-zh")]
)
def test_without_a_speaker_the_voice_speaks_the_texts_language(tts, tmp_path, text, voice):
    answer = tts.post("/v1/invoke", json={"speaker": "3f0c-random-id", "text": text})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-lipforge-voice"] == voice
    (tmp_path / "a.wav").write_bytes(answer.content)
    with wave.open(str(tmp_path / "a.wav")) as reader:
        assert reader.getnframes() / reader.getframerate() > 0.5
    pcm = tts.post("/v1/invoke", json={"text": text, "format": "pcm"})
    assert len(pcm.content) == 2 * reader.getnframes()  # the same speech, frames only
    assert not list((tmp_path / "data").rglob("tts-*.wav")), "the staged WAV is removed"
