"""The app a test server subprocess runs: `create_app` with settings from LIPFORGE_* env."""

from __future__ import annotations

from fastapi import FastAPI

from lipforge.api.app import create_app
from lipforge.config import Settings


def build() -> FastAPI:
    return create_app(Settings.from_env())
