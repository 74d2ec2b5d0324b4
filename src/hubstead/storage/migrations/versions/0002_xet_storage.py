"""xet storage

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:06:40.286334
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xet_files",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_xet_files")),
    )
    with op.batch_alter_table("xet_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_xet_files_sha256"), ["sha256"], unique=False)

    op.create_table(
        "xet_xorbs",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("serialized_size", sa.BigInteger(), nullable=False),
        sa.Column("unpacked_size", sa.BigInteger(), nullable=False),
        sa.Column("num_chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_xet_xorbs")),
    )
    op.create_table(
        "xet_chunks",
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("chunk_hash", sa.String(length=64), nullable=False),
        sa.Column("unpacked_size", sa.Integer(), nullable=False),
        sa.Column("serialized_start", sa.BigInteger(), nullable=False),
        sa.Column("serialized_end", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["xorb_hash"],
            ["xet_xorbs.hash"],
            name=op.f("fk_xet_chunks_xorb_hash_xet_xorbs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("xorb_hash", "index", name=op.f("pk_xet_chunks")),
    )
    with op.batch_alter_table("xet_chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_xet_chunks_chunk_hash"), ["chunk_hash"], unique=False)

    op.create_table(
        "xet_file_terms",
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.Column("chunk_start", sa.Integer(), nullable=False),
        sa.Column("chunk_end", sa.Integer(), nullable=False),
        sa.Column("unpacked_size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_hash"],
            ["xet_files.hash"],
            name=op.f("fk_xet_file_terms_file_hash_xet_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["xorb_hash"], ["xet_xorbs.hash"], name=op.f("fk_xet_file_terms_xorb_hash_xet_xorbs")
        ),
        sa.PrimaryKeyConstraint("file_hash", "seq", name=op.f("pk_xet_file_terms")),
    )
    with op.batch_alter_table("xet_file_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_xet_file_terms_xorb_hash"), ["xorb_hash"], unique=False
        )

    with op.batch_alter_table("lfs_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("xet_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_lfs_objects_xet_hash"), ["xet_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lfs_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lfs_objects_xet_hash"))
        batch_op.drop_column("xet_hash")

    with op.batch_alter_table("xet_file_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xet_file_terms_xorb_hash"))

    op.drop_table("xet_file_terms")
    with op.batch_alter_table("xet_chunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xet_chunks_chunk_hash"))

    op.drop_table("xet_chunks")
    op.drop_table("xet_xorbs")
    with op.batch_alter_table("xet_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xet_files_sha256"))

    op.drop_table("xet_files")
