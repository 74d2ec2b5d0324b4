"""discussion timelines, access requests, avatars, org default privacy, case-insensitive ids

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

- `discussion_events`: every comment, status and title change of a discussion. Each existing
  discussion's description becomes its opening comment, so old discussions keep their text.
- `access_requests`: requests for access to gated repositories and their answers.
- `accounts.avatar_url` (shown by whoami) and `accounts.default_private` (an organization whose
  new repositories are private unless the request says otherwise).
- A unique index on (type, lower(namespace), lower(name)): the Hub matches repository ids without
  regard to case, so two repositories may not differ only in case. If an existing hub holds such a
  pair, the upgrade stops here with the database unchanged (rename one, then upgrade).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discussion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("num_edits", sa.Integer(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["accounts.id"],
            name=op.f("fk_discussion_events_author_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_discussion_events_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_events")),
    )
    with op.batch_alter_table("discussion_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discussion_events_discussion_id"), ["discussion_id"], unique=False
        )

    op.create_table(
        "access_requests",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_access_requests_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["accounts.id"],
            name=op.f("fk_access_requests_user_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "user_id", name=op.f("pk_access_requests")),
    )
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_requests_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("avatar_url", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column("default_private", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_index(
        "ix_repositories_type_lower_id",
        "repositories",
        ["type", sa.text("lower(namespace)"), sa.text("lower(name)")],
        unique=True,
    )

    op.get_bind().execute(
        sa.text(
            "INSERT INTO discussion_events (discussion_id, type, author_id, created_at, content, hidden, num_edits, data) "
            "SELECT id, 'comment', author_id, created_at, description, :false, 0, '{}' FROM discussions"
        ),
        {"false": False},
    )


def downgrade() -> None:
    op.drop_index("ix_repositories_type_lower_id", table_name="repositories")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("default_private")
        batch_op.drop_column("avatar_url")
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_requests_user_id"))
    op.drop_table("access_requests")
    with op.batch_alter_table("discussion_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_events_discussion_id"))
    op.drop_table("discussion_events")
