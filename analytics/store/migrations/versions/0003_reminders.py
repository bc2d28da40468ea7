"""Reminders the dialogue core has scheduled (Rasa's ReminderScheduled), kept across restarts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("intent", sa.String(length=255), nullable=False),
        sa.Column("fire_at", sa.DateTime(), nullable=False),
        sa.Column("kill_on_user_msg", sa.Boolean(), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_reminders_conversation_name", "reminders", ["conversation_id", "name"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_reminders_conversation_name", table_name="reminders")
    op.drop_table("reminders")
