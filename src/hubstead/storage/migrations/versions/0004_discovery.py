"""discovery

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:42:09.962915
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_download_days",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_repo_download_days_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "day", name=op.f("pk_repo_download_days")),
    )
    op.create_table(
        "repo_likes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_repo_likes_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["accounts.id"],
            name=op.f("fk_repo_likes_user_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "repo_id", name=op.f("pk_repo_likes")),
    )
    with op.batch_alter_table("repo_likes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repo_likes_repo_id"), ["repo_id"], unique=False)

    op.create_table(
        "repo_search_documents",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_repo_search_documents_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", name=op.f("pk_repo_search_documents")),
    )
    op.create_table(
        "repo_tags",
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_repo_tags_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tag", "repo_id", name=op.f("pk_repo_tags")),
    )
    with op.batch_alter_table("repo_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repo_tags_repo_id"), ["repo_id"], unique=False)

    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("downloads_all_time", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("trending_score", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            "ix_repositories_type_created_at", ["type", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_repositories_type_downloads", ["type", "downloads", "id"], unique=False
        )
        batch_op.create_index(
            "ix_repositories_type_last_modified", ["type", "last_modified", "id"], unique=False
        )
        batch_op.create_index("ix_repositories_type_likes", ["type", "likes", "id"], unique=False)
        batch_op.create_index(
            "ix_repositories_type_trending", ["type", "trending_score", "id"], unique=False
        )

    # Full-text search: FTS5 on SQLite (kept in sync by triggers), a GIN expression index on
    # PostgreSQL. Both index repo_search_documents; search/ queries them behind one interface.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='repo_search_documents', "
            "content_rowid='repo_id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER search_fts_insert AFTER INSERT ON repo_search_documents BEGIN "
            "INSERT INTO search_fts(rowid, title, body) VALUES (new.repo_id, new.title, new.body); END"
        )
        op.execute(
            "CREATE TRIGGER search_fts_delete AFTER DELETE ON repo_search_documents BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.repo_id, old.title, old.body); END"
        )
        op.execute(
            "CREATE TRIGGER search_fts_update AFTER UPDATE ON repo_search_documents BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.repo_id, old.title, old.body); "
            "INSERT INTO search_fts(rowid, title, body) VALUES (new.repo_id, new.title, new.body); END"
        )
    else:
        op.execute(
            "CREATE INDEX ix_repo_search_documents_tsv ON repo_search_documents "
            "USING gin (to_tsvector('simple', title || ' ' || body))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_fts_insert", "search_fts_delete", "search_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_repo_search_documents_tsv")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_index("ix_repositories_type_trending")
        batch_op.drop_index("ix_repositories_type_likes")
        batch_op.drop_index("ix_repositories_type_last_modified")
        batch_op.drop_index("ix_repositories_type_downloads")
        batch_op.drop_index("ix_repositories_type_created_at")
        batch_op.drop_column("trending_score")
        batch_op.drop_column("downloads_all_time")

    with op.batch_alter_table("repo_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repo_tags_repo_id"))

    op.drop_table("repo_tags")
    op.drop_table("repo_search_documents")
    with op.batch_alter_table("repo_likes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repo_likes_repo_id"))

    op.drop_table("repo_likes")
    op.drop_table("repo_download_days")
