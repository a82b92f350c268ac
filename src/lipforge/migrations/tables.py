"""Every table the code declares, gathered on one `MetaData`: what the migrations must build.

`declared_metadata()` imports each module that declares tables and answers `Base.metadata`;
`migrations/env.py` hands it to Alembic as `target_metadata`, and `tests/test_migrations.py`
compares it with a migrated database. A new table module is added to `TABLE_MODULES`.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from lipforge.db import Base

TABLE_MODULES = (
    "lipforge.api.sessions",
    "lipforge.assets.table",
    "lipforge.events",
    "lipforge.heygem.table",
    "lipforge.jobs.tables",
    "lipforge.speech.voices",
    "lipforge.uploads.locktable",
)


def declared_metadata() -> MetaData:
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return Base.metadata
