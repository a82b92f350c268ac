"""Storage fixtures: one SeaweedFS server per test session; a fresh bucket prefix per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.storage.seaweed import Seaweed, running_seaweed, s3_settings  # noqa: E402

from lipforge.config import Settings  # noqa: E402


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory):
    with running_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture(scope="session")
def bucket(seaweed: Seaweed) -> str:
    return seaweed.make_bucket()


@pytest.fixture(params=["data-dir", "s3"])
def store_settings(request, tmp_path: Path) -> Settings:
    """Settings for each store in turn: the data dir, then a bucket prefix on SeaweedFS."""
    if request.param == "data-dir":
        settings = Settings(data=tmp_path / "data")
    else:
        seaweed = request.getfixturevalue("seaweed")
        settings = s3_settings(seaweed, request.getfixturevalue("bucket"), tmp_path / "data")
    settings.data_dir.ensure()
    return settings
