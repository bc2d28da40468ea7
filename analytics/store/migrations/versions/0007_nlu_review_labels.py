"""The NLU inbox: customer messages a bot builder labelled with the intent they meant (or
marked out of scope), and when each was written into the project's NLU data.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nlu_review_labels",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("predicted_intent", sa.String(length=64), nullable=True),
        sa.Column("labelled_by", sa.String(length=64), nullable=False),
        sa.Column("labelled_at", sa.DateTime(), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_nlu_review_labels_exported_at", "nlu_review_labels", ["exported_at"])


def downgrade() -> None:
    op.drop_index("ix_nlu_review_labels_exported_at", table_name="nlu_review_labels")
    op.drop_table("nlu_review_labels")
