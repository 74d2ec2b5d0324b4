"""pickle scans, xorb uploaders

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00

- `pickle_scans`: the verdict and the imports the pickle scanner found, per file content.
- `xet_xorb_repos`: which repository uploaded which xorb, so that the CAS answers about a xorb
  only to those who may know it (global deduplication, shard and xorb uploads). Backfilled from
  the files already registered: a repository holding a Xet file "uploaded" its xorbs.
- `repo_lfs_objects.oid` indexed alone: deduplication walks from an object to its repositories.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pickle_scans",
        sa.Column("oid", sa.String(length=64), nullable=False),
        sa.Column("scanner", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("imports", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("oid", name=op.f("pk_pickle_scans")),
    )
    op.create_table(
        "xet_xorb_repos",
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_xet_xorb_repos_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["xorb_hash"],
            ["xet_xorbs.hash"],
            name=op.f("fk_xet_xorb_repos_xorb_hash_xet_xorbs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("xorb_hash", "repo_id", name=op.f("pk_xet_xorb_repos")),
    )
    with op.batch_alter_table("xet_xorb_repos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_xet_xorb_repos_repo_id"), ["repo_id"], unique=False)
    with op.batch_alter_table("repo_lfs_objects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repo_lfs_objects_oid"), ["oid"], unique=False)
    op.execute(
        "INSERT INTO xet_xorb_repos (xorb_hash, repo_id) "
        "SELECT DISTINCT t.xorb_hash, l.repo_id FROM xet_file_terms t "
        "JOIN lfs_objects o ON o.xet_hash = t.file_hash "
        "JOIN repo_lfs_objects l ON l.oid = o.oid"
    )


def downgrade() -> None:
    with op.batch_alter_table("repo_lfs_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repo_lfs_objects_oid"))
    with op.batch_alter_table("xet_xorb_repos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xet_xorb_repos_repo_id"))
    op.drop_table("xet_xorb_repos")
    op.drop_table("pickle_scans")
