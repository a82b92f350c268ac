"""Storage fixtures: one SeaweedFS server per test session; a fresh bucket prefix per test."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from seaweed import Seaweed, running_seaweed  # noqa: E402

from lipforge.config import Settings  # noqa: E402


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory):
    with running_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture(scope="session")
def bucket(seaweed: Seaweed) -> str:
    return seaweed.make_bucket()


def s3_settings(seaweed: Seaweed, bucket: str, data: Path, **values) -> Settings:
    """Settings for a data dir whose assets and outputs live in `bucket` under a new prefix."""
    url = f"s3://{bucket}/t-{uuid.uuid4().hex[:8]}"
    env = seaweed.env(url)
    return Settings(
        data=data,
        storage_url=url,
        s3_endpoint_url=env["LIPFORGE_S3_ENDPOINT_URL"],
        s3_region=env["LIPFORGE_S3_REGION"],
        s3_access_key_id=env["LIPFORGE_S3_ACCESS_KEY_ID"],
        s3_secret_access_key=env["LIPFORGE_S3_SECRET_ACCESS_KEY"],
        **values,
    )


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
