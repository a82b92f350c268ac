"""voices, speech cache and scripted jobs (issue 8): the voices table; assets remember the
script, voice and timing they were spoken from; a job may start from a script and a voice"""

import sqlalchemy as sa
from alembic import op

revision = "0003_speech"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("url", sa.String(512), nullable=True),
        sa.Column("speaker", sa.String(255), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("speed", sa.Float, nullable=False, server_default="1.0"),
        sa.Column("language", sa.String(16), nullable=False, server_default=""),
        sa.Column("sample_rate", sa.Integer, nullable=True),
        sa.Column("api_key_env", sa.String(128), nullable=True),
        sa.Column("reference_asset_id", sa.String(32), nullable=True),
        sa.Column("reference_text", sa.Text, nullable=True),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
    )
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("script_text", sa.Text, nullable=True))
        batch.add_column(sa.Column("voice_name", sa.String(64), nullable=True))
        batch.add_column(sa.Column("speech_timing", sa.JSON, nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("audio_asset_id", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("script_text", sa.Text, nullable=True))
        batch.add_column(sa.Column("script_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("voice_name", sa.String(64), nullable=True))
        batch.add_column(sa.Column("stage", sa.String(16), nullable=True))
        batch.add_column(sa.Column("stage_done", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("stage_total", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "stage_total", "stage_done", "stage", "voice_name", "script_name", "script_text"
        ):  # fmt: skip
            batch.drop_column(column)
        batch.alter_column("audio_asset_id", existing_type=sa.String(32), nullable=False)
    with op.batch_alter_table("assets") as batch:
        for column in ("speech_timing", "voice_name", "script_text"):
            batch.drop_column(column)
    op.drop_table("voices")
