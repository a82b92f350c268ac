"""batches, jobs, events and workers tables"""

import sqlalchemy as sa
from alembic import op

revision = "0002_jobs"
down_revision = "0001_assets"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", STAMP, nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("options", sa.JSON, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "batch_id",
            sa.String(32),
            sa.ForeignKey("batches.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("audio_asset_id", sa.String(32), nullable=False),
        sa.Column("video_asset_id", sa.String(32), nullable=False),
        sa.Column("output_name", sa.String(255), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("fit", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
        sa.Column("worker_id", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", STAMP, nullable=True),
        sa.Column("heartbeat_at", STAMP, nullable=True),
        sa.Column("frames_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("frames_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fps", sa.Float, nullable=True),
        sa.Column("eta_s", sa.Float, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("started_at", STAMP, nullable=True),
        sa.Column("finished_at", STAMP, nullable=True),
        sa.Column("output_relpath", sa.String(512), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_jobs_status_position", "jobs", ["status", "position"])
    op.create_table(
        "events",
        sa.Column("id", EVENT_ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", STAMP, nullable=False, index=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(32), nullable=True, index=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("slots", sa.Integer, nullable=False),
        sa.Column("started_at", STAMP, nullable=False),
        sa.Column("heartbeat_at", STAMP, nullable=False),
        sa.Column("paused_reason", sa.Text, nullable=True),
        sa.Column("stopped_at", STAMP, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("events")
    op.drop_index("ix_jobs_status_position", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("batches")
