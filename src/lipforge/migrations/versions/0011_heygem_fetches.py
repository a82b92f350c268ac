"""HeyGem submits answer at once and download in the background (issue 19): heygem_fetches"""

import sqlalchemy as sa
from alembic import op

revision = "0011_heygem_fetches"
down_revision = "0010_asset_transcript"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "heygem_fetches",
        sa.Column("code", sa.String(255), primary_key=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.Column("error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("heygem_fetches")
