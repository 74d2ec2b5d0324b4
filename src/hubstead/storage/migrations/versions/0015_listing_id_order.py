"""listing order by id

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:30:00

- `ix_repositories_type_full_id`: (type, namespace || '/' || name, id), the key of listings
  without a `sort` (the Hub's clients send none by default). Without it, each such page sorted
  every repository of the type: at 1,000,000 repositories a few hundred milliseconds on
  PostgreSQL, where the index walk reads the page's rows only (bench/run discovery).
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the expression exactly as services/discovery.py's FULL_ID renders it: planners match
    # index expressions by their text
    op.execute(
        "CREATE INDEX ix_repositories_type_full_id ON repositories "
        "(type, (namespace || '/' || name), id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_repositories_type_full_id")
