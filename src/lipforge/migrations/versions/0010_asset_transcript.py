"""What an audio says, given by its user (issue 18, part 2): assets.transcript"""

import sqlalchemy as sa
from alembic import op

revision = "0010_asset_transcript"
down_revision = "0009_job_spec"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("transcript", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("transcript")
