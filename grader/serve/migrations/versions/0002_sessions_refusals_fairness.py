"""Revocable sessions, refused uploads, a fair queue.

- ``login_sessions``: one row per open session (logout deletes it);
- ``refusals``: refused uploads, counted by the rate limit on refusals;
- ``ix_submissions_fair``: the claim counts each student's jobs ahead (account, state, age).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False))
    op.create_table(
        "refusals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("assignment", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(300), nullable=False))
    op.create_index("ix_refusals_rate", "refusals", ["account_id", "created_at"])
    op.create_index("ix_submissions_fair", "submissions", ["account_id", "state", "queued_at"])


def downgrade() -> None:
    op.drop_index("ix_submissions_fair", "submissions")
    op.drop_table("refusals")
    op.drop_table("login_sessions")
