"""UI (issue 9): a failed job keeps its error's params beside its code and English message,
so the browser can say the reason in the reader's language (jobs.error_params, JSON)"""

import sqlalchemy as sa
from alembic import op

revision = "0007_ui"
down_revision = "0006_scaleout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("error_params", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("error_params")
