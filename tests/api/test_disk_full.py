"""A route whose database write meets a full disk answers 507 in the project's JSON shape."""

from __future__ import annotations

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
