"""HeyGem client codes (issue 13): the heygem_tasks table, one row per client `code`"""

import sqlalchemy as sa
from alembic import op

revision = "0005_heygem"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "heygem_tasks",
        sa.Column("code", sa.String(255), primary_key=True),
        sa.Column(
            "job_id",
            sa.String(32),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("published_at", STAMP, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("heygem_tasks")
