"""maintained repository totals, pipeline index with the repository id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:30:00

Adds `repo_counts` (public and private repositories per type, kept exact on every creation,
deletion and visibility change) and fills it from the rows already stored, so the model and
dataset lists stop counting every repository on every request. The index on
`repo_cards.pipeline_tag` gains the repository id, so a `pipeline_tag=` filter or count is
answered from the index without reading the (wide) card rows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_counts",
        sa.Column("repo_type", sa.String(length=16), nullable=False),
        sa.Column("public_count", sa.Integer(), nullable=False),
        sa.Column("private_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("repo_type", name=op.f("pk_repo_counts")),
    )
    with op.batch_alter_table("repo_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_repo_cards_pipeline_tag")
        batch_op.create_index(
            "ix_repo_cards_pipeline_tag_repo_id", ["pipeline_tag", "repo_id"], unique=False
        )
    op.get_bind().execute(
        sa.text(
            "INSERT INTO repo_counts (repo_type, public_count, private_count) "
            "SELECT type, SUM(CASE WHEN private THEN 0 ELSE 1 END), SUM(CASE WHEN private THEN 1 ELSE 0 END) "
            "FROM repositories GROUP BY type"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("repo_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_repo_cards_pipeline_tag_repo_id")
        batch_op.create_index("ix_repo_cards_pipeline_tag", ["pipeline_tag"], unique=False)
    op.drop_table("repo_counts")
