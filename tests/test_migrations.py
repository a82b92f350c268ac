"""The migrations against the code: they build exactly the tables the code declares (on SQLite
and on a real PostgreSQL), and 0009 moves each job's render parameters into `jobs.spec` and
back, keeping a script's Chinese text and the HeyGem rows that point at the job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from lipforge.db import MIGRATIONS_DIR, create_db_engine, migrate
from lipforge.migrations.tables import declared_metadata
from tests.support.pg_database import fresh_pg_url

SCRIPT_ZH = "大家好！今天我们学习光合作用。"
BEFORE_SPEC = "0008_upload_locks"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lipforge.db'}"
        return
    with fresh_pg_url() as url:
        yield url


def schema_drift(url: str, metadata: sa.MetaData) -> list:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_declared_tables(db_url):
    migrate(db_url)
    assert schema_drift(db_url, declared_metadata()) == []


def test_a_column_declared_without_a_migration_is_drift(db_url):
    migrate(db_url)
    drifted = sa.MetaData()
    for table in declared_metadata().sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["jobs"].append_column(sa.Column("priority", sa.Integer, nullable=True))
    diffs = schema_drift(db_url, drifted)
    assert [(diff[0], diff[2], diff[3].name) for diff in diffs] == [
        ("add_column", "jobs", "priority")
    ]


def alembic(url: str, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    getattr(command, action)(config, revision)


OLD_JOBS = [  # (id, audio, output name, script text, script name, voice), as 0008 stored them
    ("a" * 32, "1" * 32, "face-talk.mp4", None, None, None),
    ("b" * 32, None, "课程-face.mp4", SCRIPT_ZH, "课程", "espeak-zh"),
]


def add_old_rows(url: str) -> None:
    engine = create_db_engine(url)
    now = "2026-01-01T00:00:00+00:00"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO batches (id, created_at, name, options) VALUES (:id, :t, '', '{}')"
            ),
            {"id": "c" * 32, "t": now},
        )
        for job_id, audio, name, text, script_name, voice in OLD_JOBS:
            connection.execute(
                sa.text(
                    "INSERT INTO jobs (id, batch_id, position, audio_asset_id, video_asset_id, "
                    "output_name, engine, fit, status, created_at, script_text, script_name, "
                    "voice_name) VALUES (:id, :batch, 1, :audio, :video, :name, 'wav2lip', "
                    "'trim', 'queued', :t, :text, :script_name, :voice)"
                ),
                {"id": job_id, "batch": "c" * 32, "audio": audio, "video": "2" * 32, "name": name,
                 "t": now, "text": text, "script_name": script_name, "voice": voice},
            )  # fmt: skip
        connection.execute(
            sa.text(
                "INSERT INTO heygem_tasks (code, job_id, batch_id, created_at, notes, options) "
                "VALUES ('code-1', :job, :batch, :t, '', '{}')"
            ),
            {"job": "a" * 32, "batch": "c" * 32, "t": now},
        )
    engine.dispose()


def read(url: str, query: str) -> list:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_0009_moves_job_parameters_into_the_spec_and_back(db_url):
    alembic(db_url, "upgrade", BEFORE_SPEC)
    add_old_rows(db_url)
    alembic(db_url, "upgrade", "head")
    specs = {
        job_id: spec if isinstance(spec, dict) else json.loads(spec)
        for job_id, spec in read(db_url, "SELECT id, spec FROM jobs ORDER BY id")
    }
    assert specs["a" * 32] == {
        "audio_asset_id": "1" * 32, "video_asset_id": "2" * 32, "output_name": "face-talk.mp4",
        "engine": "wav2lip", "fit": "trim", "script_text": None, "script_name": None,
        "voice_name": None,
    }  # fmt: skip
    assert specs["b" * 32]["script_text"] == SCRIPT_ZH
    assert specs["b" * 32]["output_name"] == "课程-face.mp4"
    assert read(db_url, "SELECT code, job_id FROM heygem_tasks") == [("code-1", "a" * 32)]

    alembic(db_url, "downgrade", BEFORE_SPEC)
    rows = read(
        db_url,
        "SELECT id, audio_asset_id, output_name, script_text, script_name, voice_name "
        "FROM jobs ORDER BY id",
    )
    assert rows == [
        (job_id, audio, name, text, script_name, voice)
        for job_id, audio, name, text, script_name, voice in OLD_JOBS
    ]
    assert read(db_url, "SELECT engine, fit FROM jobs") == [("wav2lip", "trim")] * 2
    assert read(db_url, "SELECT code FROM heygem_tasks") == [("code-1",)]
