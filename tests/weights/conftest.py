"""Fixtures for download tests: a seeded random file and a local server that serves it."""

from __future__ import annotations

import hashlib
import random

import pytest
from tests.weights.fileserver import Behaviour, FileServer

FILE_PATH = "/models/model.onnx"
FILE_BYTES = 3 * 1024 * 1024 + 12_345


@pytest.fixture()
def payload() -> bytes:
    return random.Random(5).randbytes(FILE_BYTES)


@pytest.fixture()
def payload_sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture()
def server(payload: bytes):
    with FileServer(Behaviour()) as running:
        running.put(FILE_PATH, payload)
        yield running
