"""notices: notice policies, notices, the outbox (deliveries), the delivery log, alert marks
and the CERT's notify tasks

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-28 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
TABLES = (
    "notify_tasks",
    "notices",
    "notice_policies",
    "notice_delivery_log",
    "notice_deliveries",
    "notice_alert_marks",
)


def upgrade() -> None:
    op.create_table(
        "notice_alert_marks",
        sa.Column("alert_id", sa.Integer(), nullable=False, comment="The alert"),
        sa.Column(
            "count", sa.Integer(), nullable=False, comment="Events folded in when last noticed"
        ),
        sa.Column(
            "severity", sa.SmallInteger(), nullable=False, comment="Severity when last noticed"
        ),
        sa.Column("notice_id", sa.Integer(), nullable=False, comment="The notice that told of it"),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_notice_alert_marks")),
    )
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False, comment="The notice"),
        sa.Column(
            "recipient",
            sa.String(length=254),
            nullable=False,
            comment="The contact's e-mail address",
        ),
        sa.Column("recipient_name", sa.Text(), nullable=False, comment="The contact's name"),
        sa.Column("language", sa.String(length=2), nullable=False, comment="nb or en"),
        sa.Column(
            "require_encryption",
            sa.Boolean(),
            nullable=False,
            comment="The member's policy at queueing: no plaintext without a usable key",
        ),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="notify.model.DeliveryStatus"
        ),
        sa.Column(
            "protection",
            sa.String(length=16),
            nullable=True,
            comment="notify.model.Protection of the last attempt",
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Attempts made"),
        sa.Column(
            "next_attempt_at",
            WHEN,
            nullable=False,
            comment="When it may be tried (again); a sending lease's end",
        ),
        sa.Column(
            "message_id",
            sa.String(length=200),
            nullable=False,
            comment="The Message-ID, the same on every attempt (receivers deduplicate)",
        ),
        sa.Column(
            "last_answer", sa.Text(), nullable=False, comment="The server's last answer or error"
        ),
        sa.Column("sent_at", WHEN, nullable=True, comment="When accepted"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint(
            "notice_id", "recipient", name=op.f("uq_notice_deliveries_notice_id_recipient")
        ),
    )
    op.create_index(
        op.f("ix_notice_deliveries_notice_id"), "notice_deliveries", ["notice_id"], unique=False
    )
    op.create_index(
        "ix_notice_deliveries_status_next_attempt_at",
        "notice_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "notice_delivery_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False, comment="The notice"),
        sa.Column("delivery_id", sa.Integer(), nullable=True, comment="The delivery, if one"),
        sa.Column("at", WHEN, nullable=False, comment="When"),
        sa.Column("status", sa.String(length=16), nullable=False, comment="What happened"),
        sa.Column("detail", sa.Text(), nullable=False, comment="The server's answer, or why"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_delivery_log")),
    )
    op.create_index(
        op.f("ix_notice_delivery_log_notice_id"), "notice_delivery_log", ["notice_id"], unique=False
    )
    op.create_table(
        "notice_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False, comment="The member"),
        sa.Column(
            "policy",
            sa.JSON(),
            nullable=False,
            comment="notify.model.NoticePolicy as policy_to_dict writes it",
        ),
        sa.Column("updated_at", WHEN, nullable=False, comment="When last changed"),
        sa.Column("updated_by", sa.Text(), nullable=False, comment="Who last changed it"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_policies")),
        sa.UniqueConstraint("member_id", name=op.f("uq_notice_policies_member_id")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False, comment="The member told"),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="notify.model.NoticeKind"),
        sa.Column(
            "source_key",
            sa.String(length=200),
            nullable=False,
            comment="What made it (alert:<id>:<count>:<severity>, digest:<member>:<time>): "
            "queued once however often the pass runs",
        ),
        sa.Column("title", sa.Text(), nullable=False, comment="One line saying what happened"),
        sa.Column(
            "severity", sa.SmallInteger(), nullable=False, comment="monitoring.model.Severity"
        ),
        sa.Column("tlp", sa.String(length=16), nullable=False, comment="TLP 2.0 label"),
        sa.Column(
            "content",
            sa.JSON(),
            nullable=False,
            comment="What the templates render: details, systems, events, advice",
        ),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="notify.model.NoticeStatus"
        ),
        sa.Column(
            "due_at",
            WHEN,
            nullable=False,
            comment="When it goes out (now, end of quiet hours, or its digest time)",
        ),
        sa.Column(
            "into_digest",
            sa.Boolean(),
            nullable=False,
            comment="Waits for the member's next digest rather than going out alone",
        ),
        sa.Column(
            "hold_reason", sa.Text(), nullable=False, comment="Why it waits (or 'immediate')"
        ),
        sa.Column(
            "digest_id", sa.Integer(), nullable=True, comment="The digest notice it was folded into"
        ),
        sa.Column(
            "ack_token",
            sa.String(length=64),
            nullable=False,
            comment="The secret in the notice's acknowledgement link",
        ),
        sa.Column(
            "acknowledged_at", WHEN, nullable=True, comment="When the member acknowledged it"
        ),
        sa.Column(
            "acknowledged_by",
            sa.Text(),
            nullable=True,
            comment="Who acknowledged: link (the token) or the API token's actor",
        ),
        sa.Column("created_at", WHEN, nullable=False, comment="When made"),
        sa.Column("created_by", sa.Text(), nullable=False, comment="Who or what made it"),
        sa.Column(
            "queued_at",
            WHEN,
            nullable=True,
            comment="When its deliveries were made (counts towards the hourly cap)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("ack_token", name=op.f("uq_notices_ack_token")),
        sa.UniqueConstraint("source_key", name=op.f("uq_notices_source_key")),
    )
    op.create_index(op.f("ix_notices_digest_id"), "notices", ["digest_id"], unique=False)
    op.create_index(op.f("ix_notices_member_id"), "notices", ["member_id"], unique=False)
    op.create_index("ix_notices_status_due_at", "notices", ["status", "due_at"], unique=False)
    op.create_table(
        "notify_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False, comment="The member"),
        sa.Column(
            "contact_email", sa.String(length=254), nullable=False, comment="The contact concerned"
        ),
        sa.Column("kind", sa.String(length=32), nullable=False, comment="fix_key"),
        sa.Column("detail", sa.Text(), nullable=False, comment="What is wrong and what to do"),
        sa.Column("notice_id", sa.Integer(), nullable=True, comment="The notice that found it"),
        sa.Column(
            "open_key",
            sa.String(length=16),
            nullable=False,
            comment="'open' while open (one open task per contact), else the task id",
        ),
        sa.Column("created_at", WHEN, nullable=False, comment="When raised"),
        sa.Column("closed_at", WHEN, nullable=True, comment="When fixed"),
        sa.Column("closed_by", sa.Text(), nullable=True, comment="Who closed it"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_tasks")),
        sa.UniqueConstraint(
            "member_id",
            "contact_email",
            "kind",
            "open_key",
            name=op.f("uq_notify_tasks_member_id_contact_email_kind_open_key"),
        ),
    )
    op.create_index(op.f("ix_notify_tasks_member_id"), "notify_tasks", ["member_id"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
