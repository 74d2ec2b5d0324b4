"""repository cards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:24:05.971392
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_cards",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("commit", sa.String(length=40), nullable=False),
        sa.Column("card_data", sa.JSON(), nullable=False),
        sa.Column("card_text", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("pipeline_tag", sa.String(length=64), nullable=True),
        sa.Column("library_name", sa.String(length=64), nullable=True),
        sa.Column("derived", sa.JSON(), nullable=False),
        sa.Column("card_html", sa.Text(), nullable=True),
        sa.Column("renderer_version", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_repo_cards_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", name=op.f("pk_repo_cards")),
    )
    with op.batch_alter_table("repo_cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repo_cards_library_name"), ["library_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repo_cards_pipeline_tag"), ["pipeline_tag"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("repo_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repo_cards_pipeline_tag"))
        batch_op.drop_index(batch_op.f("ix_repo_cards_library_name"))

    op.drop_table("repo_cards")
