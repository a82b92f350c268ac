"""Alembic environment: runs the migrations on the URL that `db.migrate` passes in.

`target_metadata` is every table the code declares (`migrations/tables.py`), so
`alembic check` and `tests/test_migrations.py` see any drift between the migrations and
the declarations. On SQLite, foreign keys are off while migrating: a batch migration
copies and drops a table, and a drop must not cascade into the rows that point at it.
"""

from alembic import context
from sqlalchemy import pool, text

from lipforge.db import create_db_engine
from lipforge.migrations.tables import declared_metadata

MIGRATION_LOCK_ID = 0x11F0_F06E  # any constant; the same in every LipForge process

url = context.config.get_main_option("sqlalchemy.url")
engine = create_db_engine(url) if url.startswith("sqlite") else None
if engine is None:
    from sqlalchemy import create_engine

    engine = create_engine(url, poolclass=pool.NullPool)

with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection, target_metadata=declared_metadata(), render_as_batch=True
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # processes starting together migrate in turn
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
        context.run_migrations()
engine.dispose()
