"""inference rate windows and usage

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00

- `rate_windows`: requests per caller in fixed windows (a minute, a day), shared by every
  process on the database, for the inference API's rate limits and quotas.
- `inference_usage`: requests, failures, tokens and compute time per caller, model and day.
- `repo_cards.inference_off` and `repo_cards.weight_bytes`, what `inference=warm` listings
  filter on, filled here from the stored cards (the card's `inference: false`; the weights'
  size from the safetensors parameter counts per dtype).
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_windows")),
    )
    op.create_index(
        op.f("ix_rate_windows_window_start"), "rate_windows", ["window_start"], unique=False
    )
    op.create_table(
        "inference_usage",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_name", sa.String(length=128), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("input_units", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("compute_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_inference_usage_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["accounts.id"],
            name=op.f("fk_inference_usage_user_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "caller", "repo_id", name=op.f("pk_inference_usage")),
    )
    op.create_index(
        op.f("ix_inference_usage_repo_id"), "inference_usage", ["repo_id"], unique=False
    )
    op.create_index(
        op.f("ix_inference_usage_user_id"), "inference_usage", ["user_id"], unique=False
    )

    with op.batch_alter_table("repo_cards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("inference_off", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("weight_bytes", sa.BigInteger(), nullable=True))
    _fill_serving_columns()


def _fill_serving_columns() -> None:
    """The same rules as domain.inference.serving, frozen here as of this revision."""
    sizes = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2}
    sizes.update({"I16": 2, "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1})
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT repo_id, card_data, derived FROM repo_cards")).all()
    for repo_id, card_data, derived in rows:
        card_data = json.loads(card_data) if isinstance(card_data, str) else card_data or {}
        derived = json.loads(derived) if isinstance(derived, str) else derived or {}
        off = isinstance(card_data, dict) and card_data.get("inference") is False
        summary = derived.get("safetensors") if isinstance(derived, dict) else None
        counts = summary.get("parameters") if isinstance(summary, dict) else None
        size = None
        if isinstance(counts, dict) and counts:
            size = sum(int(n) * sizes.get(str(t).upper(), 4) for t, n in counts.items())
        if off or size is not None:
            bind.execute(
                sa.text(
                    "UPDATE repo_cards SET inference_off = :off, weight_bytes = :size "
                    "WHERE repo_id = :id"
                ),
                {"off": off, "size": size, "id": repo_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("repo_cards", schema=None) as batch_op:
        batch_op.drop_column("weight_bytes")
        batch_op.drop_column("inference_off")
    op.drop_table("inference_usage")
    op.drop_table("rate_windows")
