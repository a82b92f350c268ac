"""The transcription client against stand-ins that answer as OpenAI, speaches and whisper.cpp do.

See tests/speech/transcribe_standin.py for the sources each flavour follows. What a user
would notice: the words come back; a refusal, a 5xx, a timeout, a trickle, wrong JSON or a
huge answer becomes one TranscriptionError quoting the server (never a hang, never the key).
"""

from __future__ import annotations

import io
import time
import wave

import numpy as np
import pytest
from tests.speech.transcribe_standin import FLAVOURS, Hearing, serve

from lipforge.config import Settings
from lipforge.errors import ConfigError
from lipforge.render.transcript_stage import wav_bytes
from lipforge.speech.transcription import (
    MAX_ANSWER_BYTES,
    TranscriptionAnswerError,
    TranscriptionError,
    TranscriptionKeyMissingError,
    TranscriptionServer,
)

PIECE = wav_bytes(0.1 * np.sin(np.arange(16_000) / 5.0).astype(np.float32))


def server_for(url: str, **settings) -> TranscriptionServer:
    values = {"transcribe_url": url + "/v1", "speech_attempts": 3, **settings}
    return TranscriptionServer(Settings(**values))


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_each_server_flavour_gives_the_words_of_a_wav_piece(flavour):
    hearing = Hearing(texts=[" 妈妈买了面包。"])
    with serve(flavour, hearing) as standin:
        text = server_for(standin.url, transcribe_language="zh").transcribe(PIECE)
    assert text == "妈妈买了面包。"
    (seen,) = hearing.requests
    assert (seen["model"], seen["response_format"], seen["language"]) == ("whisper-1", "json", "zh")
    with wave.open(io.BytesIO(seen["file"])) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getnframes()) == (
            16_000,
            1,
            16_000,
        )


@pytest.mark.parametrize(
    ("flavour", "status", "quoted"),
    [
        ("openai", 400, "stand-in openai says 400"),
        ("speaches", 404, "stand-in speaches says 404"),
        ("whispercpp", 404, "File Not Found"),
    ],
)
def test_a_refusal_is_not_retried_and_quotes_the_server(flavour, status, quoted):
    hearing = Hearing(status=status)
    with serve(flavour, hearing) as standin:
        with pytest.raises(TranscriptionError) as caught:
            server_for(standin.url).transcribe(PIECE)
    assert len(hearing.requests) == 1
    assert quoted in str(caught.value) and caught.value.params["status"] == status
    assert caught.value.code == "transcription_failed"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_5xx_is_retried_and_a_recovered_server_answers(flavour):
    hearing = Hearing(texts=["Bob met my mom."], fail_first=2)
    with serve(flavour, hearing) as standin:
        assert server_for(standin.url).transcribe(PIECE) == "Bob met my mom."
    assert len(hearing.requests) == 3


def test_a_server_that_keeps_failing_says_so_after_its_attempts():
    hearing = Hearing(status=503)
    with serve("speaches", hearing) as standin:
        with pytest.raises(TranscriptionError, match="answered 503: stand-in speaches says 503"):
            server_for(standin.url, speech_attempts=2).transcribe(PIECE)
    assert len(hearing.requests) == 2


def test_whisper_cpp_errors_come_as_200_with_an_error_field():
    hearing = Hearing()
    with serve("whispercpp", hearing) as standin:
        client = server_for(standin.url)
        with pytest.raises(TranscriptionError, match="failed to read WAV file"):
            client.transcribe(b"RIFF not really a wav")


def test_a_slow_server_fails_by_the_deadline():
    hearing = Hearing(delay_s=5.0)
    with serve("openai", hearing) as standin:
        started = time.monotonic()
        with pytest.raises(TranscriptionError, match="did not answer within 0.5 s"):
            server_for(standin.url, transcribe_timeout_s=0.5, speech_attempts=1).transcribe(PIECE)
        assert time.monotonic() - started < 2.0


def test_a_trickling_answer_is_cut_off_under_the_minimum_rate():
    hearing = Hearing(texts=["a" * 200], trickle_bps=20.0)
    with serve("speaches", hearing) as standin:
        started = time.monotonic()
        with pytest.raises(TranscriptionError, match="under the minimum of 512 bytes/s"):
            server_for(standin.url, speech_attempts=1).transcribe(PIECE)
        assert time.monotonic() - started < 5.0  # the whole answer would take 11 s


@pytest.mark.parametrize(
    "body", [b"<html>proxy error</html>", b'{"transcript": "hi"}', b'["hi"]', b'{"text": 3}']
)
def test_an_answer_without_a_text_field_is_a_bad_answer(body):
    with serve("openai", Hearing(body=body)) as standin:
        with pytest.raises(TranscriptionAnswerError) as caught:
            server_for(standin.url).transcribe(PIECE)
    assert caught.value.code == "transcription_bad_answer"


def test_a_huge_answer_is_refused_past_the_byte_limit():
    hearing = Hearing(huge_bytes=MAX_ANSWER_BYTES + 10)
    with serve("openai", hearing) as standin:
        with pytest.raises(TranscriptionError, match=f"more than {MAX_ANSWER_BYTES} bytes"):
            server_for(standin.url, speech_attempts=1).transcribe(PIECE)


def test_the_key_is_sent_and_never_repeated_in_a_message(monkeypatch):
    monkeypatch.setenv("ASR_KEY", "sk-secret-123")
    hearing = Hearing(texts=["ok"], key="sk-secret-123")
    with serve("openai", hearing) as standin:
        assert server_for(standin.url, transcribe_api_key_env="ASR_KEY").transcribe(PIECE) == "ok"
        hearing.key = "another"
        with pytest.raises(TranscriptionError) as caught:
            server_for(standin.url, transcribe_api_key_env="ASR_KEY").transcribe(PIECE)
    assert hearing.requests[0]["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret-123" not in str(caught.value) and "[redacted]" in str(caught.value)
    assert "sk-secret-123" not in str(caught.value.params)


def test_a_key_variable_that_is_unset_or_lipforges_own_is_refused(monkeypatch):
    monkeypatch.delenv("ASR_KEY", raising=False)
    with pytest.raises(TranscriptionKeyMissingError, match="ASR_KEY"):
        server_for("http://127.0.0.1:9", transcribe_api_key_env="ASR_KEY")
    for own in ("LIPFORGE_TOKEN", "lipforge_s3_secret_access_key", "AWS_SECRET_ACCESS_KEY"):
        with pytest.raises(ConfigError, match="LipForge's own settings or credentials"):
            Settings.from_env({"LIPFORGE_TRANSCRIBE_API_KEY_ENV": own})
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        Settings.from_env({"LIPFORGE_TRANSCRIBE_API_KEY_ENV": "sk-abc def"})
    with pytest.raises(ConfigError, match="base URL ending in /v1"):
        Settings.from_env({"LIPFORGE_TRANSCRIBE_URL": "asr-box:8000/v1"})


def test_a_server_that_is_down_fails_quickly():
    with pytest.raises(TranscriptionError, match="could not be reached"):
        server_for("http://127.0.0.1:9", speech_attempts=1).transcribe(PIECE)
