"""tus upload locks shared by several API processes (issue 10, part 2)"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_upload_locks"
down_revision = "0007_ui"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
