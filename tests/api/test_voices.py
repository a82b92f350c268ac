"""The voices API as a client sees it: built-ins, add, get, refuse, remove; keys never answered."""

from __future__ import annotations


def test_builtins_and_engines_are_listed(api):
    body = api.get("/api/voices").json()
    names = [voice["name"] for voice in body["items"]]
    assert names[:2] == ["espeak-zh", "espeak-en"]
    assert {"espeak", "piper", "cosyvoice", "fish-speech", "openai"} <= {
        engine["name"] for engine in body["engines"]
    }
    espeak = next(engine for engine in body["engines"] if engine["name"] == "espeak")
    assert espeak["languages"] == ["zh", "en"] and espeak["max_input_chars"] > 0


def test_add_get_and_remove_a_voice(api, monkeypatch):
    monkeypatch.setenv("MY_TTS_KEY", "sk-secret-value")
    voice = {
        "name": "studio",
        "engine": "openai",
        "url": "http://127.0.0.1:9/v1",
        "speaker": "alloy",
        "model": "tts-1",
        "speed": 1.2,
        "api_key_env": "MY_TTS_KEY",
        "options": {"concurrency": 3},
    }
    created = api.post("/api/voices", json=voice)
    assert created.status_code == 201, created.text
    assert created.json()["api_key_env"] == "MY_TTS_KEY"
    fetched = api.get("/api/voices/studio")
    assert fetched.json()["speaker"] == "alloy" and fetched.json()["options"]["concurrency"] == 3
    assert "sk-secret-value" not in api.get("/api/voices").text
    assert api.delete("/api/voices/studio").status_code == 204
    missing = api.get("/api/voices/studio")
    assert missing.status_code == 404 and missing.json()["error"] == "voice_not_found"
    assert missing.json()["params"]["voice"] == "studio"


def test_refusals_say_why(api):
    unknown = api.post("/api/voices", json={"name": "x", "engine": "nope"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "invalid_voice"
    assert "espeak" in unknown.json()["message"]
    no_url = api.post("/api/voices", json={"name": "x", "engine": "cosyvoice"})
    assert no_url.status_code == 422 and "URL" in no_url.json()["message"]
    key_as_value = {"name": "x", "engine": "openai", "url": "http://h:1", "api_key_env": "sk-1 2"}
    assert api.post("/api/voices", json=key_as_value).status_code == 422
    no_reference = {"name": "x", "engine": "fish-speech", "url": "http://h:1",
                    "reference_asset_id": "0" * 32}  # fmt: skip
    missing = api.post("/api/voices", json=no_reference)
    assert missing.status_code == 404 and missing.json()["params"]["asset_id"] == "0" * 32
    builtin = api.delete("/api/voices/espeak-zh")
    assert builtin.status_code == 409 and builtin.json()["error"] == "builtin_voice"
    api.post("/api/voices", json={"name": "twice", "engine": "espeak", "language": "en"})
    again = api.post("/api/voices", json={"name": "twice", "engine": "espeak"})
    assert again.status_code == 409 and again.json()["error"] == "voice_exists"
