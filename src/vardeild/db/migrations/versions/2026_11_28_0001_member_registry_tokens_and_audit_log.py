"""member registry, tokens and audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-28 13:19:00.799783
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    registry_revision = op.create_table(
        "registry_revision",
        sa.Column("id", sa.Integer(), nullable=False, comment="Always 1"),
        sa.Column(
            "revision", sa.BigInteger(), nullable=False, comment="Bumped on every registry change"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_revision")),
    )
    op.bulk_insert(registry_revision, [{"id": 1, "revision": 0}])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="When it happened"),
        sa.Column("actor", sa.String(length=200), nullable=False, comment="Who did it"),
        sa.Column(
            "action", sa.String(length=64), nullable=False, comment="e.g. organisation.update"
        ),
        sa.Column(
            "entity_type", sa.String(length=64), nullable=False, comment="Kind of record changed"
        ),
        sa.Column("entity_id", sa.String(length=64), nullable=False, comment="Its id"),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=True,
            comment="Member concerned (no foreign key: outlives deletion)",
        ),
        sa.Column("before", sa.JSON(), nullable=True, comment="State before"),
        sa.Column("after", sa.JSON(), nullable=True, comment="State after"),
        sa.Column("note", sa.Text(), nullable=False, comment="Why, where given"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Legal or common name"),
        sa.Column("short_name", sa.String(length=40), nullable=False, comment="Short label"),
        sa.Column(
            "org_number",
            sa.String(length=9),
            nullable=True,
            comment="Norwegian organisation number, 9 digits, mod-11 checked",
        ),
        sa.Column("sector", sa.String(length=32), nullable=False, comment="members.model.Sector"),
        sa.Column(
            "criticality", sa.String(length=16), nullable=False, comment="members.model.Criticality"
        ),
        sa.Column(
            "state",
            sa.String(length=16),
            nullable=False,
            comment="Membership state (members.model.MembershipState)",
        ),
        sa.Column("applied_on", sa.Date(), nullable=True, comment="Applied to the programme"),
        sa.Column("joined_on", sa.Date(), nullable=True, comment="Became an active member"),
        sa.Column("suspended_on", sa.Date(), nullable=True, comment="Suspended"),
        sa.Column("left_on", sa.Date(), nullable=True, comment="Left the programme"),
        sa.Column(
            "services", sa.JSON(), nullable=False, comment="Programme services taken part in"
        ),
        sa.Column(
            "parent_id",
            sa.Integer(),
            nullable=True,
            comment="Parent organisation (a health region for its trusts)",
        ),
        sa.Column("notes", sa.Text(), nullable=False, comment="CERT-internal notes"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When first registered",
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, comment="When last changed"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["organisations.id"],
            name=op.f("fk_organisations_parent_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
        sa.UniqueConstraint("org_number", name=op.f("uq_organisations_org_number")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_sector"), ["sector"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_state"), ["state"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, comment="What the token is for"),
        sa.Column(
            "prefix",
            sa.String(length=16),
            nullable=False,
            comment="First characters, to recognise it",
        ),
        sa.Column("secret_hash", sa.String(length=64), nullable=False, comment="SHA-256, hex"),
        sa.Column("role", sa.String(length=32), nullable=False, comment="access.model.Role"),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=True,
            comment="Member the token is scoped to; empty for CERT staff tokens",
        ),
        sa.Column(
            "created_by", sa.String(length=200), nullable=False, comment="Actor who created it"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="When created"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True, comment="When it stops"),
        sa.Column(
            "last_used_at", sa.DateTime(timezone=True), nullable=True, comment="Last request"
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True, comment="When revoked"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_tokens_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_tokens_secret_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "asns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="Owner"),
        sa.Column("asn", sa.BigInteger(), nullable=False, comment="AS number"),
        sa.Column("exposure", sa.String(length=16), nullable=False, comment="internet or internal"),
        sa.Column("description", sa.String(length=200), nullable=False, comment="What it is"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_asns_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asns")),
        sa.UniqueConstraint("organisation_id", "asn", name=op.f("uq_asns_organisation_id_asn")),
    )
    with op.batch_alter_table("asns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asns_asn"), ["asn"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_asns_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="Whose entry"),
        sa.Column("status", sa.String(length=16), nullable=False, comment="pending/approved/..."),
        sa.Column("changes", sa.JSON(), nullable=False, comment="The proposed changes"),
        sa.Column("comment", sa.Text(), nullable=False, comment="Why, from the proposer"),
        sa.Column(
            "proposed_by", sa.String(length=200), nullable=False, comment="Actor who proposed"
        ),
        sa.Column(
            "proposed_at", sa.DateTime(timezone=True), nullable=False, comment="When proposed"
        ),
        sa.Column(
            "decided_by", sa.String(length=200), nullable=True, comment="Analyst who decided"
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True, comment="When decided"),
        sa.Column("decision_reason", sa.Text(), nullable=False, comment="Why, from the CERT"),
        sa.Column("applied", sa.Boolean(), nullable=False, comment="Changes applied"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_change_requests_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_requests_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_change_requests_status"), ["status"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="Employer"),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Full name"),
        sa.Column(
            "email", sa.String(length=254), nullable=False, comment="E-mail address, identifies it"
        ),
        sa.Column("phone", sa.String(length=40), nullable=False, comment="Phone number"),
        sa.Column("roles", sa.JSON(), nullable=False, comment="ContactRole values"),
        sa.Column("language", sa.String(length=2), nullable=False, comment="nb or en"),
        sa.Column("pgp_key", sa.Text(), nullable=False, comment="Armoured public key as given"),
        sa.Column(
            "pgp_fingerprint", sa.String(length=64), nullable=True, comment="Derived from pgp_key"
        ),
        sa.Column(
            "pgp_expires_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Derived from pgp_key: when it stops being usable to encrypt",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contacts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint(
            "organisation_id", "email", name=op.f("uq_contacts_organisation_id_email")
        ),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="Owner"),
        sa.Column("name", sa.String(length=253), nullable=False, comment="Lower-case IDNA form"),
        sa.Column("exposure", sa.String(length=16), nullable=False, comment="internet or internal"),
        sa.Column("description", sa.String(length=200), nullable=False, comment="What it is"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_domains_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
        sa.UniqueConstraint(
            "organisation_id", "name", name=op.f("uq_domains_organisation_id_name")
        ),
    )
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domains_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_domains_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False, comment="Owner"),
        sa.Column("cidr", sa.String(length=43), nullable=False, comment="Canonical CIDR"),
        sa.Column("family", sa.SmallInteger(), nullable=False, comment="4 or 6"),
        sa.Column("exposure", sa.String(length=16), nullable=False, comment="internet or internal"),
        sa.Column("description", sa.String(length=200), nullable=False, comment="What it is"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_networks_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint(
            "organisation_id", "cidr", name=op.f("uq_networks_organisation_id_cidr")
        ),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_networks_cidr"), ["cidr"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_networks_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("registry_revision")

    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networks_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_networks_cidr"))

    op.drop_table("networks")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domains_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_domains_name"))

    op.drop_table("domains")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_organisation_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_requests_status"))
        batch_op.drop_index(batch_op.f("ix_change_requests_organisation_id"))

    op.drop_table("change_requests")
    with op.batch_alter_table("asns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asns_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_asns_asn"))

    op.drop_table("asns")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_organisation_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_state"))
        batch_op.drop_index(batch_op.f("ix_organisations_sector"))
        batch_op.drop_index(batch_op.f("ix_organisations_parent_id"))

    op.drop_table("organisations")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
