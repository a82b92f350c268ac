"""`POST /api/voices/{name}/preview`: a text's first sentence spoken by the voice, as a WAV."""

from __future__ import annotations

import io
import wave


def test_a_voice_speaks_only_the_first_sentence(api) -> None:
    one = api.post("/api/voices/espeak-zh/preview", json={"text": "你好，欢迎。"})
    two = api.post(
        "/api/voices/espeak-zh/preview",
        json={"text": "你好，欢迎。这一句不会读出来，因为预览只读第一句。"},
    )
    assert one.status_code == two.status_code == 200
    assert one.headers["content-type"] == "audio/wav"
    seconds = []
    for answer in (one, two):
        with wave.open(io.BytesIO(answer.content)) as audio:
            seconds.append(audio.getnframes() / audio.getframerate())
    assert seconds[0] > 0.3 and abs(seconds[0] - seconds[1]) < 0.05, seconds


def test_an_unknown_voice_is_refused_with_its_name(api) -> None:
    answer = api.post("/api/voices/nobody/preview", json={"text": "Hello."})
    assert answer.status_code == 404
    assert answer.json()["error"] == "voice_not_found"
    assert answer.json()["params"]["voice"] == "nobody"
