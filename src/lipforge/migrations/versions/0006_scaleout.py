"""storage keys for assets and outputs (issue 10, part 1)"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_scaleout"
down_revision = "0005_heygem"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
