"""access tokens' expiry

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 10:00:00

- `access_tokens.expires_at`: when a token stops working (NULL: never). Set from
  `hubstead token create --expires-days`, the tokens page, or bounded by the operator's
  HUBSTEAD_TOKEN_MAX_DAYS; an expired token is refused like a revoked one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
