"""incident cases: cases, journal, tasks, links, involved organisations, coordinated updates
and their notices, evidence attachments and candidate observables

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-28 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False, comment="One line saying what happened"),
        sa.Column("description", sa.Text(), nullable=False, comment="What is known, for the CERT"),
        sa.Column(
            "classification_taxonomy",
            sa.String(length=64),
            nullable=False,
            comment="RSIT taxonomy (core.taxonomy)",
        ),
        sa.Column("classification_type", sa.String(length=64), nullable=False, comment="RSIT type"),
        sa.Column(
            "severity", sa.SmallInteger(), nullable=False, comment="monitoring.model.Severity"
        ),
        sa.Column("impact", sa.String(length=16), nullable=False, comment="incidents.model.Impact"),
        sa.Column("tlp", sa.String(length=16), nullable=False, comment="TLP 2.0 label of the case"),
        sa.Column("pap", sa.String(length=8), nullable=False, comment="PAP label of the case"),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="incidents.model.CaseStatus"
        ),
        sa.Column(
            "assignee_user_id", sa.Integer(), nullable=True, comment="The CERT user handling it"
        ),
        sa.Column(
            "reporter", sa.Text(), nullable=False, comment="Who reported it (name or address)"
        ),
        sa.Column(
            "reporter_organisation_id",
            sa.Integer(),
            nullable=True,
            comment="The member that reported it, if one did",
        ),
        sa.Column(
            "source",
            sa.String(length=16),
            nullable=False,
            comment="incidents.model.EntrySource: how it came in",
        ),
        sa.Column(
            "significant",
            sa.Boolean(),
            nullable=False,
            comment="A significant incident: the regulatory reporting clocks run",
        ),
        sa.Column(
            "aware_at",
            WHEN,
            nullable=True,
            comment="When the CERT became aware of it as significant (clocks start)",
        ),
        sa.Column(
            "early_warning_at", WHEN, nullable=True, comment="When the early warning was made"
        ),
        sa.Column(
            "notification_at",
            WHEN,
            nullable=True,
            comment="When the incident notification was made",
        ),
        sa.Column("final_report_at", WHEN, nullable=True, comment="When the final report was made"),
        sa.Column("created_at", WHEN, nullable=False, comment="Opened"),
        sa.Column("created_by", sa.Text(), nullable=False, comment="Who or what opened it"),
        sa.Column("updated_at", WHEN, nullable=False, comment="Last change"),
        sa.Column(
            "acknowledged_at",
            WHEN,
            nullable=True,
            comment="When it first left new (time to acknowledge)",
        ),
        sa.Column(
            "contained_at",
            WHEN,
            nullable=True,
            comment="When the harm was contained (time to contain)",
        ),
        sa.Column("resolved_at", WHEN, nullable=True, comment="When it was last resolved"),
        sa.Column(
            "closed_at",
            WHEN,
            nullable=True,
            comment="When it was last closed or rejected (time to close)",
        ),
        sa.Column(
            "merged_into_id",
            sa.Integer(),
            nullable=True,
            comment="The case this one was merged into",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_incident_cases_assignee_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["incident_cases.id"],
            name=op.f("fk_incident_cases_merged_into_id_incident_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_incident_cases_reporter_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_cases")),
    )
    with op.batch_alter_table("incident_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_cases_classification_taxonomy"),
            ["classification_taxonomy"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_incident_cases_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_cases_status"), ["status"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="SHA-256 of the bytes"),
        sa.Column("size", sa.BigInteger(), nullable=False, comment="Size in bytes"),
        sa.Column(
            "filename", sa.Text(), nullable=False, comment="The name it came with (shown only)"
        ),
        sa.Column(
            "content_type", sa.String(length=200), nullable=False, comment="The type it came with"
        ),
        sa.Column(
            "visibility", sa.String(length=16), nullable=False, comment="incidents.model.Visibility"
        ),
        sa.Column("tlp", sa.String(length=16), nullable=False, comment="TLP 2.0 label"),
        sa.Column("uploaded_at", WHEN, nullable=False, comment="When stored"),
        sa.Column("uploaded_by", sa.Text(), nullable=False, comment="Who stored it"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_attachments_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_attachments_sha256"), ["sha256"], unique=False)

    op.create_table(
        "case_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column("at", WHEN, nullable=False, comment="When written"),
        sa.Column("author", sa.Text(), nullable=False, comment="The acting principal"),
        sa.Column(
            "author_label",
            sa.Text(),
            nullable=False,
            comment="Who wrote it as people read it (a mail sender, a member's name)",
        ),
        sa.Column("text", sa.Text(), nullable=False, comment="The entry"),
        sa.Column(
            "tlp", sa.String(length=16), nullable=False, comment="TLP 2.0 label of the entry"
        ),
        sa.Column(
            "visibility",
            sa.String(length=16),
            nullable=False,
            comment="incidents.model.Visibility: shared or internal",
        ),
        sa.Column(
            "source", sa.String(length=16), nullable=False, comment="incidents.model.EntrySource"
        ),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=True,
            comment="The member that wrote it, when a member did",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_journal_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_journal")),
    )
    with op.batch_alter_table("case_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_journal_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="incidents.model.LinkKind"),
        sa.Column("target_id", sa.Integer(), nullable=False, comment="The linked record's id"),
        sa.Column("note", sa.Text(), nullable=False, comment="Why it is linked"),
        sa.Column("created_at", WHEN, nullable=False, comment="When linked"),
        sa.Column("created_by", sa.Text(), nullable=False, comment="Who linked it"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_links_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint(
            "case_id", "kind", "target_id", name=op.f("uq_case_links_case_id_kind_target_id")
        ),
    )
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_links_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_observables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column(
            "kind", sa.String(length=16), nullable=False, comment="incidents.model.ObservableKind"
        ),
        sa.Column("value", sa.String(length=1000), nullable=False, comment="Normalised value"),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="incidents.model.ObservableStatus",
        ),
        sa.Column(
            "source", sa.String(length=16), nullable=False, comment="incidents.model.EntrySource"
        ),
        sa.Column("found_at", WHEN, nullable=False, comment="When first found"),
        sa.Column("found_by", sa.Text(), nullable=False, comment="Who or what found it"),
        sa.Column(
            "indicator_id", sa.Integer(), nullable=True, comment="The indicator it was promoted to"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_observables_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_observables")),
        sa.UniqueConstraint(
            "case_id", "kind", "value", name=op.f("uq_case_observables_case_id_kind_value")
        ),
    )
    with op.batch_alter_table("case_observables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_observables_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="The organisation"),
        sa.Column(
            "role", sa.String(length=16), nullable=False, comment="incidents.model.InvolvedRole"
        ),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="incidents.model.InvolvedStatus"
        ),
        sa.Column(
            "contacts",
            sa.Text(),
            nullable=False,
            comment="Its people on this case (names, addresses), as the CERT wrote them",
        ),
        sa.Column("added_at", WHEN, nullable=False, comment="When added"),
        sa.Column("added_by", sa.Text(), nullable=False, comment="Who added it"),
        sa.Column("updated_at", WHEN, nullable=False, comment="Last change of status"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_organisations_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_case_organisations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_organisations")),
        sa.UniqueConstraint(
            "case_id", "organisation_id", name=op.f("uq_case_organisations_case_id_organisation_id")
        ),
    )
    with op.batch_alter_table("case_organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_organisations_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_organisations_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "case_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column("title", sa.Text(), nullable=False, comment="What is to be done"),
        sa.Column("owner", sa.Text(), nullable=False, comment="Who does it"),
        sa.Column("due_at", WHEN, nullable=True, comment="By when"),
        sa.Column("done_at", WHEN, nullable=True, comment="When done"),
        sa.Column("done_by", sa.Text(), nullable=True, comment="Who marked it done"),
        sa.Column("created_at", WHEN, nullable=False, comment="When made"),
        sa.Column("created_by", sa.Text(), nullable=False, comment="Who made it"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_tasks_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tasks")),
    )
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_tasks_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, comment="The case"),
        sa.Column("at", WHEN, nullable=False, comment="When sent"),
        sa.Column("author", sa.Text(), nullable=False, comment="Who sent it"),
        sa.Column("title", sa.Text(), nullable=False, comment="Its subject"),
        sa.Column("text", sa.Text(), nullable=False, comment="What it says"),
        sa.Column("tlp", sa.String(length=16), nullable=False, comment="TLP 2.0 label"),
        sa.Column(
            "journal_id",
            sa.Integer(),
            nullable=True,
            comment="The shared journal entry that records it",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident_cases.id"],
            name=op.f("fk_case_updates_case_id_incident_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["case_journal.id"],
            name=op.f("fk_case_updates_journal_id_case_journal"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_updates")),
    )
    with op.batch_alter_table("case_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_updates_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_update_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False, comment="The update"),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="The organisation told"),
        sa.Column(
            "notice_id",
            sa.Integer(),
            nullable=False,
            comment="The notice (its deliveries and acknowledgement tell who knows since when)",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_case_update_notices_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["case_updates.id"],
            name=op.f("fk_case_update_notices_update_id_case_updates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_update_notices")),
        sa.UniqueConstraint(
            "update_id",
            "organisation_id",
            name=op.f("uq_case_update_notices_update_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("case_update_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_update_notices_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_update_notices_update_id"), ["update_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_update_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_update_notices_update_id"))
        batch_op.drop_index(batch_op.f("ix_case_update_notices_notice_id"))

    op.drop_table("case_update_notices")
    with op.batch_alter_table("case_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_updates_case_id"))

    op.drop_table("case_updates")
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_tasks_case_id"))

    op.drop_table("case_tasks")
    with op.batch_alter_table("case_organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_organisations_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_case_organisations_case_id"))

    op.drop_table("case_organisations")
    with op.batch_alter_table("case_observables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_observables_case_id"))

    op.drop_table("case_observables")
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_links_case_id"))

    op.drop_table("case_links")
    with op.batch_alter_table("case_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_journal_case_id"))

    op.drop_table("case_journal")
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_sha256"))
        batch_op.drop_index(batch_op.f("ix_case_attachments_case_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("incident_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_cases_status"))
        batch_op.drop_index(batch_op.f("ix_incident_cases_created_at"))
        batch_op.drop_index(batch_op.f("ix_incident_cases_classification_taxonomy"))

    op.drop_table("incident_cases")
