"""The HTTP speech engines against local stand-ins that answer as the real servers' code does.

Stand-ins follow CosyVoice's runtime/python/fastapi/server.py, fish-speech's
tools/server/views.py (+ fish_speech/utils/schema.py, tools/server/exception_handler.py)
and OpenAI's /v1/audio/speech; see tests/speech/standins.py.
"""

from __future__ import annotations

import time

import pytest
from tests.speech.standins import (
    Behaviour,
    Recorder,
    StandIn,
    cosyvoice_app,
    fish_speech_app,
    openai_app,
    voiced,
    wav_bytes,
)
from tests.support.serving import free_port

from lipforge.assets.library import ingest_file
from lipforge.speech.engines import EngineContext, create_speech_engine
from lipforge.speech.errors import (
    InvalidVoiceError,
    SpeechAudioError,
    SpeechKeyMissingError,
    SpeechServerError,
)
from lipforge.speech.script import synthesize_script
from lipforge.speech.voices import Voice, add_voice, check_voice, get_voice
from lipforge.storage.backend import Storage, open_storage

FAST = {"timeout_s": 2.0, "attempts": 3, "backoff_s": 0.05}


def engine_for(voice: Voice, storage: Storage | None = None, **context):
    return create_speech_engine(voice, EngineContext(storage, **{**FAST, **context}))


@pytest.fixture
def reference(sessions, settings, tmp_path):
    """A reference recording stored as an asset, and its bytes."""
    path = tmp_path / "ref.wav"
    path.write_bytes(wav_bytes(voiced("reference voice sample", 16000), 16000))
    data = path.read_bytes()
    asset = ingest_file(path, "ref.wav", "upload", sessions, settings)
    return asset.id, data


def stored_voice(sessions, voice: Voice) -> Voice:
    with sessions.begin() as session:
        return add_voice(session, voice)


def test_cosyvoice_sft_answers_raw_pcm_at_the_stated_rate(tmp_path):
    behaviour, recorder = Behaviour(rate=22050), Recorder()
    with StandIn(cosyvoice_app(behaviour, recorder)) as server:
        voice = Voice("cv", "cosyvoice", url=server.url, speaker="中文女", sample_rate=22050)
        utterance = engine_for(voice).synthesize("你好，世界。", "zh")
    assert recorder.requests == [{"mode": "sft", "tts_text": "你好，世界。", "spk_id": "中文女"}]
    assert utterance.sample_rate == 22050
    assert utterance.duration_s == pytest.approx(len("你好，世界。") * 0.06, abs=0.01)


def test_cosyvoice_zero_shot_and_instruct2_send_the_reference(sessions, settings, reference):
    asset_id, data = reference
    behaviour, recorder = Behaviour(rate=24000), Recorder()
    with StandIn(cosyvoice_app(behaviour, recorder)) as server:
        common = {"url": server.url, "sample_rate": 24000, "reference_asset_id": asset_id}
        clone = stored_voice(sessions, Voice("clone", "cosyvoice", reference_text="参考", **common))
        styled = stored_voice(
            sessions, Voice("styled", "cosyvoice", options={"instruct": "用四川话说"}, **common)
        )
        for voice in (clone, styled):
            engine_for(voice, open_storage(settings)).synthesize("今天天气很好。", "zh")
    zero_shot, instruct2 = recorder.requests
    assert zero_shot["mode"] == "zero_shot" and zero_shot["prompt_text"] == "参考"
    assert zero_shot["prompt_wav"] == data
    assert instruct2["mode"] == "instruct2" and instruct2["instruct_text"] == "用四川话说"
    assert instruct2["prompt_wav"] == data


def test_a_5xx_is_retried_and_three_500s_are_one_plain_reason(tmp_path):
    flaky, recorder = Behaviour(fail_first=2), Recorder()
    with StandIn(cosyvoice_app(flaky, recorder)) as server:
        voice = Voice("cv", "cosyvoice", url=server.url, speaker="a", sample_rate=22050)
        assert engine_for(voice).synthesize("好的。", "zh").duration_s > 0
        assert len(recorder.requests) == 3
        flaky.always_fail = True
        with pytest.raises(SpeechServerError) as failure:
            engine_for(voice).synthesize("好的。", "zh")
    assert str(failure.value) == (
        f"CosyVoice at {server.url} answered 500 three times: Internal Server Error"
    )
    assert failure.value.code == "speech_server_failed"
    assert failure.value.params["status"] == 500 and failure.value.params["attempts"] == 3
    assert failure.value.params["engine"] == "cosyvoice"  # the UI names it in its language


def test_a_slow_answer_is_waited_for_and_a_timeout_is_named(tmp_path):
    slow, recorder = Behaviour(delay_s=0.6), Recorder()
    with StandIn(cosyvoice_app(slow, recorder)) as server:
        voice = Voice("cv", "cosyvoice", url=server.url, speaker="a", sample_rate=22050)
        assert engine_for(voice, None, timeout_s=3.0).synthesize("好。", "zh").duration_s > 0
        started = time.monotonic()
        with pytest.raises(SpeechServerError) as failure:
            engine_for(voice, None, timeout_s=0.2, attempts=2).synthesize("好。", "zh")
    assert time.monotonic() - started < 3
    assert str(failure.value) == (
        f"CosyVoice at {server.url} did not answer within 0.2 s, tried twice"
    )


def test_a_wrong_sample_rate_and_an_empty_body_are_refused(tmp_path):
    behaviour, recorder = Behaviour(rate=24000, rate_header=24000), Recorder()
    with StandIn(cosyvoice_app(behaviour, recorder)) as server:
        voice = Voice("cv", "cosyvoice", url=server.url, speaker="a", sample_rate=22050)
        with pytest.raises(SpeechAudioError) as wrong_rate:
            engine_for(voice).synthesize("好。", "zh")
        behaviour.rate_header, behaviour.empty = None, True
        with pytest.raises(SpeechAudioError) as empty:
            engine_for(voice).synthesize("好。", "zh")
    assert "speaks at 24000 Hz but voice 'cv' states 22050 Hz" in str(wrong_rate.value)
    assert wrong_rate.value.params["rate"] == 24000
    assert wrong_rate.value.params["engine"] == empty.value.params["engine"] == "cosyvoice"
    assert (
        str(empty.value)
        == f"CosyVoice at {server.url} answered with an empty body instead of audio."
    )
    assert empty.value.code == "speech_bad_audio"


def test_cosyvoice_voices_must_state_what_their_mode_needs(sessions):
    with sessions() as session:
        with pytest.raises(InvalidVoiceError, match="--sample-rate"):
            check_voice(session, Voice("v", "cosyvoice", url="http://h:1", speaker="a"))
        with pytest.raises(InvalidVoiceError, match="--speaker"):
            check_voice(session, Voice("v", "cosyvoice", url="http://h:1", sample_rate=22050))


def test_fish_speech_clones_from_references_and_quotes_its_refusals(sessions, settings, reference):
    asset_id, data = reference
    behaviour, recorder = Behaviour(rate=44100, max_text_length=40), Recorder()
    with StandIn(fish_speech_app(behaviour, recorder)) as server:
        voice = stored_voice(
            sessions,
            Voice("fish", "fish-speech", url=server.url, reference_asset_id=asset_id,
                  reference_text="reference voice sample"),
        )  # fmt: skip
        engine = engine_for(voice, open_storage(settings))
        utterance = engine.synthesize("Hello there.", "en")
        with pytest.raises(SpeechServerError) as too_long:
            engine.synthesize("x" * 41, "en")
        behaviour.fail_first = 99
        with pytest.raises(SpeechServerError) as broken:
            engine.synthesize("Hello.", "en")
    first = recorder.requests[0]
    assert first["text"] == "Hello there." and first["format"] == "wav"
    assert first["references"] == [{"audio": data, "text": "reference voice sample"}]
    assert utterance.sample_rate == 44100
    assert len(recorder.requests) == 5  # the 400 was not retried; the 500s were, three times
    assert str(too_long.value) == (
        f"fish-speech at {server.url} refused the request with 400: "
        "Text is too long, max length is 40"
    )
    assert str(broken.value).endswith("answered 500 three times: CUDA out of memory")


def test_openai_sends_its_fields_and_the_key_from_the_env_and_follows_redirects(
    tmp_path, monkeypatch
):
    behaviour, recorder = Behaviour(rate=24000), Recorder()
    with StandIn(openai_app(behaviour, recorder, key="sk-test")) as server:
        voice = Voice("oa", "openai", url=f"{server.url}/old", model="tts-1-hd", speaker="nova",
                      speed=1.25, api_key_env="TEST_TTS_KEY")  # fmt: skip
        monkeypatch.delenv("TEST_TTS_KEY", raising=False)
        with pytest.raises(SpeechKeyMissingError, match="TEST_TTS_KEY"):
            engine_for(voice)
        monkeypatch.setenv("TEST_TTS_KEY", "sk-test")
        utterance = engine_for(voice).synthesize("Good morning.", "en")
        monkeypatch.setenv("TEST_TTS_KEY", "sk-wrong")
        with pytest.raises(SpeechServerError) as refused:
            engine_for(voice).synthesize("Good morning.", "en")
    assert recorder.requests == [
        {"model": "tts-1-hd", "input": "Good morning.", "voice": "nova",
         "response_format": "wav", "speed": 1.25}
    ]  # fmt: skip
    assert utterance.sample_rate == 24000 and utterance.duration_s > 0.5
    assert "refused the request with 401: Incorrect API key provided." in str(refused.value)


def test_openai_pcm_is_read_at_24khz(tmp_path):
    behaviour, recorder = Behaviour(rate=24000), Recorder()
    with StandIn(openai_app(behaviour, recorder)) as server:
        voice = Voice("oa", "openai", url=f"{server.url}/v1", options={"response_format": "pcm"})
        utterance = engine_for(voice).synthesize("Good morning.", "en")
    expected = voiced("Good morning.", 24000)
    assert utterance.sample_rate == 24000 and len(utterance.samples) == len(expected)


def test_requests_to_one_voice_are_bounded_and_sentences_cached(sessions, settings):
    behaviour, recorder = Behaviour(rate=22050, delay_s=0.3), Recorder()
    script = "第一句。第二句。第三句。第四句。第五句。第六句。"
    with StandIn(cosyvoice_app(behaviour, recorder)) as server:
        voice = stored_voice(
            sessions,
            Voice("bounded", "cosyvoice", url=server.url, speaker="a", sample_rate=22050),
        )
        first = synthesize_script(voice, script, settings.data_dir.root / "a.wav", settings)
        again = synthesize_script(voice, script, settings.data_dir.root / "b.wav", settings)
    assert len(recorder.requests) == 6 and recorder.max_in_flight == 2
    assert first.pieces_synthesized == 6 and again.pieces_synthesized == 0
    assert (settings.data_dir.root / "a.wav").read_bytes() == (
        settings.data_dir.root / "b.wav"
    ).read_bytes()
    assert [s.text for s in first.timing.sentences][:2] == ["第一句。", "第二句。"]
    assert first.timing.phones is None


def test_a_voice_remembers_its_reference_but_answers_no_path(sessions, reference):
    asset_id, _ = reference
    voice = stored_voice(
        sessions, Voice("ref", "fish-speech", url="http://127.0.0.1:9", reference_asset_id=asset_id)
    )
    with sessions() as session:
        again = get_voice(session, "ref")
    assert again.reference_key and "reference_key" not in again.to_json()
    assert voice.to_json()["reference_asset_id"] == asset_id


def test_a_dead_openai_server_is_named_by_engine_address_attempts_and_cause():
    """What the UI needs to say it in Chinese too: the engine's registered name beside its
    English label, the URL, the attempts and the operating system's reason."""
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    voice = Voice("studio", "openai", url=url, model="tts-1", speaker="alloy")
    with pytest.raises(SpeechServerError) as failure:
        engine_for(voice, attempts=2).synthesize("你好。", "zh")
    params = failure.value.params
    assert failure.value.code == "speech_server_failed"
    assert params["engine"] == "openai" and params["server"] == "OpenAI-compatible TTS"
    assert params["url"] == url and params["attempts"] == 2 and params["reason"]
    assert params["cause"] == "refused"  # a word the UI translates ("连接被拒绝")
    assert str(failure.value).startswith(f"OpenAI-compatible TTS at {url} could not be reached")


def test_connection_causes_are_words_the_ui_translates():
    """Read from the exception chain (httpx wraps the system's error), else from the words."""
    import socket

    import httpx

    from lipforge.speech.httpclient import connect_cause

    def wrapped(inner: BaseException) -> httpx.ConnectError:
        try:
            try:
                raise inner
            except OSError as exc:
                raise httpx.ConnectError(str(exc)) from exc
        except httpx.ConnectError as outer:
            return outer

    assert connect_cause(wrapped(socket.gaierror(-2, "Name or service not known"))) == {
        "cause": "dns"
    }
    assert connect_cause(wrapped(ConnectionResetError(104, "Connection reset by peer"))) == {
        "cause": "reset"
    }
    assert connect_cause(httpx.ConnectError("[Errno 113] No route to host")) == {
        "cause": "unreachable"
    }
    assert connect_cause(httpx.ConnectError("TLS handshake failed")) == {}
