"""storage keys for assets and outputs (issue 10, part 1)

Each asset names its object in the store (`assets/<id><ext>`, relative to the data dir or
the bucket prefix), so the bytes can live in the data dir or a bucket alike. Existing
rows get the key of the file they already have. Outputs keep `jobs.output_relpath`;
their key is `outputs/<output_relpath>`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_scaleout"
down_revision = "0005_heygem"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("storage_key", sa.String(1024), nullable=True))
    op.execute("UPDATE assets SET storage_key = 'assets/' || relative_path")


def downgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("storage_key")
