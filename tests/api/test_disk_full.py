"""A route whose database write meets a full disk answers 507 in the project's JSON shape."""

from __future__ import annotations

import json

from sqlalchemy import event, text


def fill_the_database(engine) -> None:
    """Every new connection may not grow the SQLite file by one page: the disk is full."""

    @event.listens_for(engine, "connect")
    def _full(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    engine.dispose()


def test_a_write_on_a_full_disk_is_a_507_with_a_reason(api):
    engine = api.app.state.db_engine
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    fill_the_database(engine)
    voices = [
        {"name": f"v{number}", "engine": "espeak", "language": "en", "speaker": "x" * 200}
        for number in range(200)
    ]
    answers = [api.post("/api/voices", json=voice) for voice in voices]
    full = [answer for answer in answers if answer.status_code != 201]
    assert full, "the database never filled"
    assert full[0].status_code == 507, full[0].text
    assert full[0].json()["error"] == "insufficient_storage"
    assert "disk is full" in full[0].json()["message"]


def test_a_heygem_submit_on_a_full_disk_is_a_system_error_with_the_reason(
    api, talking_head_512, speech_en_wav
):
    """HeyGem clients read the body of a 200: a full disk is 9999 (HeyGem's answer to any write
    that failed, which clients report), not 10003 "lock error", with the reason and its code."""
    temp = api.app.state.settings.data_dir.root / "heygem" / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    (temp / "face.mp4").write_bytes(talking_head_512.read_bytes())
    (temp / "speech.wav").write_bytes(speech_en_wav.read_bytes())
    engine = api.app.state.db_engine
    fill_the_database(engine)
    answers = []
    for number in range(100):
        body = {"code": f"full-{number}", "audio_url": "speech.wav", "video_url": "face.mp4"}
        answers.append(api.post("/easy/submit", content=json.dumps(body)))
        if answers[-1].json()["code"] != 10000:
            break
    full = answers[-1]
    assert full.status_code == 200 and full.json()["code"] == 9999, full.text
    assert full.json()["success"] is False and "disk is full" in full.json()["msg"]
    assert full.json()["data"]["error"] == "insufficient_storage"
