"""A voice cannot send LipForge's own secrets away, a key a server echoes is never shown, and
voice URLs do not reach link-local or metadata addresses (loopback and the LAN still do)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tests.speech.standins import StandIn

from lipforge.speech.engines import EngineContext, create_speech_engine
from lipforge.speech.errors import InvalidVoiceError, SpeechServerError, VoiceUrlRefusedError
from lipforge.speech.voices import Voice, add_voice

FAST = {"timeout_s": 2.0, "attempts": 1, "backoff_s": 0.05}
KEY = "sk-echoed-0123456789"


def engine_for(voice: Voice, **context):
    return create_speech_engine(voice, EngineContext(None, **{**FAST, **context}))


def echoing_app() -> FastAPI:
    """A hostile 'TTS server' that answers 400 quoting the Authorization header it got."""
    app = FastAPI()

    @app.post("/v1/audio/speech")
    async def speech(request: Request):
        said = f"bad key {request.headers.get('authorization')}"
        return JSONResponse({"error": {"message": said}}, 400)

    return app


@pytest.mark.parametrize("variable", ["LIPFORGE_TOKEN", "lipforge_token", "AWS_SECRET_ACCESS_KEY"])
def test_lipforges_own_variables_are_refused_as_keys(sessions, monkeypatch, variable):
    monkeypatch.setenv(variable, "the-servers-secret")
    voice = Voice("x", "openai", url="http://127.0.0.1:9", api_key_env=variable)
    with sessions.begin() as session, pytest.raises(InvalidVoiceError, match=variable):
        add_voice(session, voice)
    with pytest.raises(InvalidVoiceError) as refused:
        engine_for(voice)  # a voice stored before this rule is refused when it speaks
    assert "the-servers-secret" not in str(refused.value)


def test_an_admin_prefix_limits_the_key_variables(monkeypatch):
    monkeypatch.setenv("OTHER_KEY", "k-1234")
    voice = Voice("x", "openai", url="http://127.0.0.1:9", api_key_env="OTHER_KEY")
    with pytest.raises(InvalidVoiceError, match="TTS_"):
        engine_for(voice, key_env_prefix="TTS_")
    engine_for(voice)  # without a prefix, any variable of its own is fine


def test_a_key_the_server_echoes_is_redacted(monkeypatch):
    monkeypatch.setenv("TTS_KEY", KEY)
    with StandIn(echoing_app()) as server:
        voice = Voice("oa", "openai", url=server.url, speaker="nova", api_key_env="TTS_KEY")
        with pytest.raises(SpeechServerError) as refused:
            engine_for(voice).synthesize("Hello there.", "en")
    assert KEY not in str(refused.value) and KEY not in str(refused.value.params)
    assert "bad key Bearer [redacted]" in str(refused.value)


@pytest.mark.parametrize("host", ["169.254.169.254", "[fe80::1]", "100.100.100.200"])
def test_link_local_and_metadata_addresses_are_refused(host):
    voice = Voice("meta", "openai", url=f"http://{host}:9", speaker="nova")
    with pytest.raises(VoiceUrlRefusedError) as refused:
        engine_for(voice).synthesize("Hello there.", "en")
    assert refused.value.code == "voice_url_refused"


def test_an_allowed_network_and_loopback_are_reached():
    meta = Voice("meta", "openai", url="http://169.254.169.254:9", speaker="nova")
    with pytest.raises(SpeechServerError) as tried:
        engine_for(meta, url_allow=("169.254.0.0/16",), timeout_s=0.5).synthesize("Hi.", "en")
    assert not isinstance(tried.value, VoiceUrlRefusedError)
    with StandIn(echoing_app()) as server:  # 127.0.0.1: a TTS on this machine is normal
        with pytest.raises(SpeechServerError, match="refused the request with 400"):
            engine_for(Voice("l", "openai", url=server.url)).synthesize("Hi.", "en")


@pytest.mark.parametrize("url", ["http://h:1/\x01x", "http://h:1/a b", "http://h\n:1", "http://:1"])
def test_a_url_with_control_characters_is_refused_when_stored_and_when_used(sessions, url):
    voice = Voice("ctl", "openai", url=url, speaker="nova")
    with sessions.begin() as session, pytest.raises(InvalidVoiceError, match="URL"):
        add_voice(session, voice)
    with pytest.raises(InvalidVoiceError, match="URL"):
        engine_for(voice)  # one stored before the check: a plain reason, never a 500
