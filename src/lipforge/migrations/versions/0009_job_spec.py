"""one job shape (issue 20): a job's render parameters move into one JSON column, `jobs.spec`

The queue keeps its own columns; `audio_asset_id`, `video_asset_id`, `output_name`,
`engine`, `fit`, `script_text`, `script_name` and `voice_name` become the keys of
`jobs.spec` (`render/spec.py`'s `RenderSpec`), row by row in one statement on SQLite
(`json_object`) and PostgreSQL (`json_build_object`). The downgrade puts them back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_job_spec"
down_revision = "0008_upload_locks"
branch_labels = None
depends_on = None

SPEC_COLUMNS = {
    "audio_asset_id": sa.String(32),
    "video_asset_id": sa.String(32),
    "output_name": sa.String(255),
    "engine": sa.String(32),
    "fit": sa.String(16),
    "script_text": sa.Text(),
    "script_name": sa.String(255),
    "voice_name": sa.String(64),
}
REQUIRED_COLUMNS = ("video_asset_id", "output_name", "engine", "fit")  # NOT NULL before 0009


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("spec", sa.JSON, nullable=True))
    jobs = sa.table("jobs", sa.column("spec", sa.JSON), *(sa.column(n) for n in SPEC_COLUMNS))
    build = "json_build_object" if op.get_bind().dialect.name == "postgresql" else "json_object"
    pairs = [
        part for name in SPEC_COLUMNS for part in (sa.literal_column(f"'{name}'"), jobs.c[name])
    ]
    op.execute(jobs.update().values(spec=getattr(sa.func, build)(*pairs)))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("spec", existing_type=sa.JSON, nullable=False)
        for name in SPEC_COLUMNS:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, type_ in SPEC_COLUMNS.items():
            batch.add_column(sa.Column(name, type_, nullable=True))
    jobs = sa.table("jobs", sa.column("spec", sa.JSON), *(sa.column(n) for n in SPEC_COLUMNS))
    op.execute(jobs.update().values({name: jobs.c.spec[name].as_string() for name in SPEC_COLUMNS}))
    with op.batch_alter_table("jobs") as batch:
        for name in REQUIRED_COLUMNS:
            batch.alter_column(name, existing_type=SPEC_COLUMNS[name], nullable=False)
        batch.drop_column("spec")
