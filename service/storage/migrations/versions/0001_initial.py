"""The first tables: hook calls (audit), issued findings and suggestions, feedback, and
patient memory (snoozes). Issue 13.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hook_call",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("hook_instance", sa.String(100), nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=True),
        sa.Column("organisation", sa.String(200), nullable=True),
        sa.Column("organisation_source", sa.String(30), nullable=True),
        sa.Column("client", sa.String(300), nullable=True),
        sa.Column("current_ome_mg_per_day", sa.Float(), nullable=True),
        sa.Column("proposed_ome_mg_per_day", sa.Float(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(60), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("card_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hook_call"),
    )
    for column in ("recorded_at", "hook_instance", "patient_key", "organisation"):
        op.create_index(f"ix_hook_call_{column}", "hook_call", [column])

    op.create_table(
        "issued_finding",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hook_call_id", sa.String(36), nullable=False),
        sa.Column("card_uuid", sa.String(36), nullable=False),
        sa.Column("card_indicator", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("rule_version", sa.String(30), nullable=False),
        sa.Column("indicator", sa.String(10), nullable=False),
        sa.Column("snoozed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hook_call_id"],
            ["hook_call.id"],
            name="fk_issued_finding_hook_call_id_hook_call",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issued_finding"),
    )
    for column in ("hook_call_id", "card_uuid", "rule"):
        op.create_index(f"ix_issued_finding_{column}", "issued_finding", [column])

    op.create_table(
        "issued_suggestion",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hook_call_id", sa.String(36), nullable=False),
        sa.Column("card_uuid", sa.String(36), nullable=False),
        sa.Column("suggestion_uuid", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(60), nullable=True),
        sa.Column("rule", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["hook_call_id"],
            ["hook_call.id"],
            name="fk_issued_suggestion_hook_call_id_hook_call",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issued_suggestion"),
    )
    for column in ("hook_call_id", "suggestion_uuid"):
        op.create_index(f"ix_issued_suggestion_{column}", "issued_suggestion", [column])

    op.create_table(
        "feedback",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card_uuid", sa.String(36), nullable=False),
        sa.Column("card_known", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("override_reason_code", sa.String(100), nullable=True),
        sa.Column("override_reason_system", sa.String(300), nullable=True),
        sa.Column("override_reason_recognised", sa.Boolean(), nullable=True),
        sa.Column("has_comment", sa.Boolean(), nullable=False),
        sa.Column("outcome_timestamp", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    for column in ("received_at", "card_uuid"):
        op.create_index(f"ix_feedback_{column}", "feedback", [column])

    op.create_table(
        "feedback_suggestion",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feedback_id", sa.String(36), nullable=False),
        sa.Column("suggestion_uuid", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name="fk_feedback_suggestion_feedback_id_feedback",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_suggestion"),
    )
    op.create_index("ix_feedback_suggestion_feedback_id", "feedback_suggestion", ["feedback_id"])

    op.create_table(
        "patient_memory",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("until", _TZ, nullable=True),
        sa.Column("reason_code", sa.String(100), nullable=True),
        sa.Column("feedback_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name="fk_patient_memory_feedback_id_feedback",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patient_memory"),
    )
    op.create_index(
        "ix_patient_memory_patient_key_rule_kind", "patient_memory", ["patient_key", "rule", "kind"]
    )


def downgrade() -> None:
    for table in (
        "patient_memory",
        "feedback_suggestion",
        "feedback",
        "issued_suggestion",
        "issued_finding",
        "hook_call",
    ):
        op.drop_table(table)
