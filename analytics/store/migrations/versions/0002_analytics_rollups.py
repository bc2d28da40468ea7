"""Analytics rollups and model outputs: conversation facts, per-intent facts, customer
segments, predicted CSAT.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    customer_message = sa.text("sender = 'user'")
    op.create_index(
        "ix_messages_user_intent_sentiment",
        "messages",
        ["intent", "sentiment_score"],
        postgresql_where=customer_message,
        sqlite_where=customer_message,
    )
    op.create_index(
        "ix_messages_user_sentiment",
        "messages",
        ["sentiment_score"],
        postgresql_where=customer_message,
        sqlite_where=customer_message,
    )
    op.create_table(
        "conversation_facts",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("user_messages", sa.Integer(), nullable=False),
        sa.Column("bot_messages", sa.Integer(), nullable=False),
        sa.Column("agent_messages", sa.Integer(), nullable=False),
        sa.Column("fallback_messages", sa.Integer(), nullable=False),
        sa.Column("negative_messages", sa.Integer(), nullable=False),
        sa.Column("sentiment_n", sa.Integer(), nullable=False),
        sa.Column("sentiment_sum", sa.Float(), nullable=False),
        sa.Column("sentiment_first", sa.Float(), nullable=True),
        sa.Column("sentiment_last", sa.Float(), nullable=True),
        sa.Column("sentiment_min", sa.Float(), nullable=True),
        sa.Column("primary_intent", sa.String(length=64), nullable=True),
        sa.Column("last_intent", sa.String(length=64), nullable=True),
        sa.Column("first_message_at", sa.DateTime(), nullable=True),
        sa.Column("last_message_at", sa.DateTime(), nullable=True),
        sa.Column("ended_unresolved", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index(
        "ix_conversation_facts_primary_intent", "conversation_facts", ["primary_intent"]
    )
    op.create_table(
        "conversation_intent_facts",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("negative_messages", sa.Integer(), nullable=False),
        sa.Column("sentiment_n", sa.Integer(), nullable=False),
        sa.Column("sentiment_sum", sa.Float(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id", "intent"),
    )
    op.create_index(
        "ix_conversation_intent_facts_intent", "conversation_intent_facts", ["intent"]
    )
    op.create_table(
        "customer_segments",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("fitted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_customer_segments_segment", "customer_segments", ["segment"])
    op.create_table(
        "csat_predictions",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("predicted_csat", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("fitted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )


def downgrade() -> None:
    for table in (
        "csat_predictions",
        "customer_segments",
        "conversation_intent_facts",
        "conversation_facts",
    ):
        op.drop_table(table)
    op.drop_index("ix_messages_user_sentiment", table_name="messages")
    op.drop_index("ix_messages_user_intent_sentiment", table_name="messages")
