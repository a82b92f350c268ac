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


def test_each_engine_lists_the_fields_its_voices_take(api):
    engines = {engine["name"]: engine for engine in api.get("/api/voices").json()["engines"]}
    cosyvoice = engines["cosyvoice"]
    assert {"url", "sample_rate", "speaker", "reference_asset_id", "options.mode"} <= set(
        cosyvoice["fields"]
    )
    assert set(cosyvoice["required"]) == {"url", "sample_rate"}
    assert {"model", "api_key_env", "url"} <= set(engines["openai"]["fields"])
    assert "url" not in engines["espeak"]["fields"] and engines["espeak"]["required"] == []


def test_a_refused_voice_names_what_it_needs_and_chinese_names_are_allowed(api):
    cosyvoice = {"name": "克隆-x", "engine": "cosyvoice", "url": "http://127.0.0.1:9"}
    no_rate = api.post("/api/voices", json={**cosyvoice, "speaker": "中文女"})
    assert no_rate.status_code == 422 and no_rate.json()["params"]["needs"] == "sample_rate"
    no_speaker = api.post("/api/voices", json={**cosyvoice, "sample_rate": 22050})
    assert no_speaker.json()["params"]["needs"] == "speaker"
    added = api.post("/api/voices", json={"name": "远程老师", "engine": "espeak", "language": "zh"})
    assert added.status_code == 201, added.text
    assert api.get("/api/voices/远程老师").json()["engine"] == "espeak"
    for bad in ("-x", "_x", "a/b", "x\n"):
        refused = api.post("/api/voices", json={"name": bad, "engine": "espeak"})
        assert refused.status_code == 422, bad
