"""disabled users, site settings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00

- `accounts.disabled`: a site admin disables a user from /admin/users (sign-in, tokens and
  sessions refused) and can enable them again.
- `site_settings`: settings the site admin changes in the web UI (whether self sign-up is
  open); a missing row means the operator's environment setting.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "site_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_site_settings")),
    )


def downgrade() -> None:
    op.drop_table("site_settings")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("disabled")
