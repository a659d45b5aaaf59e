"""The tables (SQLAlchemy Core), described for readers in ``docs/storage.md``.

Every time is UTC. No names, raw identifiers, tokens or free text: a patient is a
pseudonymous key (HMAC-SHA256 of the patient id with ``OPIOID_CDS_PSEUDONYM_KEY``), an
override reason is its code, and a comment only "there was one". Rows written by the
request path carry application-made uuids as keys, so a row replayed from the spool file
(``service.storage.spool``) is inserted once however often it is replayed.

Changing a table means a new migration in ``migrations/versions/`` (the start-up check
compares these definitions with the migrated database in the tests).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UUID_TEXT = 36  # a uuid as text: portable across SQLite and PostgreSQL
RULE_ID = 100
PATIENT_KEY = 64  # HMAC-SHA256 in hex

#: One row per hook call (also refused ones, e.g. 412): what was asked, what was answered.
hook_call = Table(
    "hook_call",
    metadata,
    Column("id", String(UUID_TEXT), primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, index=True),
    Column("service_id", String(100), nullable=False),
    Column("hook", String(100), nullable=False),
    Column("hook_instance", String(100), nullable=False, index=True),
    Column("patient_key", String(PATIENT_KEY), nullable=True, index=True),
    Column("organisation", String(200), nullable=True, index=True),
    #: Where ``organisation`` came from: client, practitioner-role, organization, encounter.
    Column("organisation_source", String(30), nullable=True),
    #: The calling client's identity (JWT ``iss``) when auth identified one.
    Column("client", String(300), nullable=True),
    Column("current_ome_mg_per_day", Float, nullable=True),
    #: The total with the proposed orders (None when unresolved or nothing proposed).
    Column("proposed_ome_mg_per_day", Float, nullable=True),
    Column("status", Integer, nullable=False),
    #: The error code of a refused call (e.g. ``prefetch-unavailable``).
    Column("error_code", String(60), nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("card_count", Integer, nullable=False),
)

#: What each issued card said: one row per finding on it, the lead first (position 0).
issued_finding = Table(
    "issued_finding",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "hook_call_id",
        String(UUID_TEXT),
        ForeignKey("hook_call.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("card_uuid", String(UUID_TEXT), nullable=False, index=True),
    Column("card_indicator", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("rule", String(RULE_ID), nullable=False, index=True),
    Column("rule_version", String(30), nullable=False),
    #: The indicator the finding was shown with (``info`` when softened or snoozed).
    Column("indicator", String(10), nullable=False),
    #: Shown as information because a snooze for this patient and rule was in force.
    Column("snoozed", Boolean, nullable=False),
)

#: The suggestions each card offered, with the kind and the rules that offered that kind
#: (ADR 0007: an accepted suggestion is attributed to the findings that offered its kind).
issued_suggestion = Table(
    "issued_suggestion",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "hook_call_id",
        String(UUID_TEXT),
        ForeignKey("hook_call.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("card_uuid", String(UUID_TEXT), nullable=False),
    Column("suggestion_uuid", String(UUID_TEXT), nullable=False, index=True),
    Column("kind", String(60), nullable=True),
    Column("rule", String(RULE_ID), nullable=True),
)

#: One row per feedback item received (repeats kept: the same card may be answered twice).
feedback = Table(
    "feedback",
    metadata,
    Column("id", String(UUID_TEXT), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("service_id", String(100), nullable=False),
    Column("card_uuid", String(UUID_TEXT), nullable=False, index=True),
    #: False: no issued card has this uuid (kept and flagged, never refused).
    Column("card_known", Boolean, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("override_reason_code", String(100), nullable=True),
    Column("override_reason_system", String(300), nullable=True),
    #: Whether the reason is one the cards offer; None when no coded reason was given.
    Column("override_reason_recognised", Boolean, nullable=True),
    Column("has_comment", Boolean, nullable=False),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
)

#: The suggestions a feedback item accepted.
feedback_suggestion = Table(
    "feedback_suggestion",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "feedback_id",
        String(UUID_TEXT),
        ForeignKey("feedback.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("suggestion_uuid", String(UUID_TEXT), nullable=False),
)

#: What the service remembers about a patient and a rule: ``snooze`` (an override reason
#: the rule lists as snoozing, in force until ``until``). Other kinds (e.g. a reminder shown)
#: are new values of ``kind``, not new tables.
patient_memory = Table(
    "patient_memory",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_key", String(PATIENT_KEY), nullable=False),
    Column("rule", String(RULE_ID), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=True),
    Column("reason_code", String(100), nullable=True),
    Column(
        "feedback_id",
        String(UUID_TEXT),
        ForeignKey("feedback.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Index(None, "patient_key", "rule", "kind"),
)
