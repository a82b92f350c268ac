"""The API as a token-holding client sees it: a real app on a temp data dir, in-process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.config import Settings

API_TOKEN = "api-test-token-0123456789"


@pytest.fixture
def api(tmp_path):
    settings = Settings(data=tmp_path / "data", token=API_TOKEN)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    with TestClient(create_app(settings), headers=headers) as client:
        yield client
