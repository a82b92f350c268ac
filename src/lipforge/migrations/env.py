"""Alembic environment: runs the migrations on the URL that `db.migrate` passes in."""

from alembic import context
from sqlalchemy import pool, text

from lipforge.db import create_db_engine

MIGRATION_LOCK_ID = 0x11F0_F06E  # any constant; the same in every LipForge process

url = context.config.get_main_option("sqlalchemy.url")
engine = create_db_engine(url) if url.startswith("sqlite") else None
if engine is None:
    from sqlalchemy import create_engine

    engine = create_engine(url, poolclass=pool.NullPool)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # processes starting together migrate in turn
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
        context.run_migrations()
engine.dispose()
