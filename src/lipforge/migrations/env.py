"""Alembic environment: runs the migrations on the URL that `db.migrate` passes in."""

from alembic import context
from sqlalchemy import pool

from lipforge.db import create_db_engine

url = context.config.get_main_option("sqlalchemy.url")
engine = create_db_engine(url) if url.startswith("sqlite") else None
if engine is None:
    from sqlalchemy import create_engine

    engine = create_engine(url, poolclass=pool.NullPool)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
