"""tus upload locks shared by several API processes (issue 10, part 2): the upload_locks table"""

import sqlalchemy as sa
from alembic import op

revision = "0008_upload_locks"
down_revision = "0007_ui"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_locks",
        sa.Column("upload_id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at_s", sa.Float(), nullable=False),
        sa.Column("release_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("upload_locks")
