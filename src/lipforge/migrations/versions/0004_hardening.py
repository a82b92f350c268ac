"""login sessions (issue 11): browser logins that logout and a token change end"""

import sqlalchemy as sa
from alembic import op

revision = "0004_hardening"
down_revision = "0003_speech"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(32), nullable=False, index=True),
        sa.Column("client", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("expires_at", STAMP, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("login_sessions")
