"""maintained tag counts, local apps, parameter counts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:05:00

Adds `tag_counts` (facet counts kept exact on every change instead of a scan per request),
`repo_apps` (the `apps=` filter) and `repositories.num_parameters` (the `num_parameters=`
filter), and fills all three from the data already stored. On PostgreSQL, full-text search moves
from an expression index to a stored, weighted `search_vector` column (id words weigh more than
card words), so ranking reads the stored vector instead of re-parsing every matching card.
"""

import json

import sqlalchemy as sa
from alembic import op

from hubstead.domain.tags.local_apps import compatible_apps

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_apps",
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_repo_apps_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app", "repo_id", name=op.f("pk_repo_apps")),
    )
    with op.batch_alter_table("repo_apps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repo_apps_repo_id"), ["repo_id"], unique=False)

    op.create_table(
        "tag_counts",
        sa.Column("repo_type", sa.String(length=16), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("public_count", sa.Integer(), nullable=False),
        sa.Column("private_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("repo_type", "tag", name=op.f("pk_tag_counts")),
    )
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("num_parameters", sa.BigInteger(), nullable=True))

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE repo_search_documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')) STORED"
        )
        op.execute("DROP INDEX IF EXISTS ix_repo_search_documents_tsv")
        op.execute(
            "CREATE INDEX ix_repo_search_documents_vector ON repo_search_documents USING gin (search_vector)"
        )
    bind.execute(
        sa.text(
            "INSERT INTO tag_counts (repo_type, tag, public_count, private_count) "
            "SELECT r.type, t.tag, SUM(CASE WHEN r.private THEN 0 ELSE 1 END), SUM(CASE WHEN r.private THEN 1 ELSE 0 END) "
            "FROM repo_tags t JOIN repositories r ON r.id = t.repo_id GROUP BY r.type, t.tag"
        )
    )
    rows = bind.execute(
        sa.text(
            "SELECT c.repo_id, c.tags, c.pipeline_tag, c.library_name, c.derived FROM repo_cards c "
            "JOIN repositories r ON r.id = c.repo_id WHERE r.type = 'model'"
        )
    )
    apps, parameters = [], []
    for repo_id, tags, pipeline_tag, library_name, derived in rows:
        tags = json.loads(tags) if isinstance(tags, str) else (tags or [])
        derived = json.loads(derived) if isinstance(derived, str) else (derived or {})
        apps += [
            {"app": app, "repo_id": repo_id}
            for app in compatible_apps(tags, pipeline_tag, library_name, derived.get("config"))
        ]
        total = (derived.get("safetensors") or {}).get("total")
        if isinstance(total, int):
            parameters.append({"repo_id": repo_id, "total": total})
    if apps:
        bind.execute(sa.text("INSERT INTO repo_apps (app, repo_id) VALUES (:app, :repo_id)"), apps)
    if parameters:
        bind.execute(
            sa.text("UPDATE repositories SET num_parameters = :total WHERE id = :repo_id"),
            parameters,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_repo_search_documents_vector")
        op.execute("ALTER TABLE repo_search_documents DROP COLUMN search_vector")
        op.execute(
            "CREATE INDEX ix_repo_search_documents_tsv ON repo_search_documents "
            "USING gin (to_tsvector('simple', title || ' ' || body))"
        )
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("num_parameters")
    op.drop_table("tag_counts")
    with op.batch_alter_table("repo_apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repo_apps_repo_id"))
    op.drop_table("repo_apps")
