"""Today's schema: the catalogue and the bot's tables.

A database made before migrations existed already holds some or all of these tables (the
catalogue's alone when only the command line had used it), without a revision: every table and
index is created only when missing, so such a database is adopted as it is, its rows untouched.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [  # in the order they are created: a table after those its foreign keys name
    "catalog_entries",
    "bot_digests",
    "bot_events",
    "bot_handled_updates",
    "bot_inbox",
    "bot_matches",
    "bot_outbox",
    "bot_staff_topics",
    "bot_users",
    "bot_digest_items",
    "bot_event_registrations",
    "bot_searches",
    "bot_submissions",
    "bot_subscriptions",
    "bot_tickets",
    "bot_introductions",
    "bot_relays",
]


def upgrade() -> None:
    op.create_table(
        "catalog_entries",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sector", sa.String(length=60), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("trl", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_catalog_entries_country", "catalog_entries", ["country"], if_not_exists=True)
    op.create_index("ix_catalog_entries_kind", "catalog_entries", ["kind"], if_not_exists=True)
    op.create_index("ix_catalog_entries_sector", "catalog_entries", ["sector"], if_not_exists=True)
    op.create_index("ix_catalog_entries_status", "catalog_entries", ["status"], if_not_exists=True)

    op.create_table(
        "bot_digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_digests_user_id", "bot_digests", ["user_id"], if_not_exists=True)

    op.create_table(
        "bot_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_events_starts_at", "bot_events", ["starts_at"], if_not_exists=True)

    op.create_table(
        "bot_handled_updates",
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_handled_updates_handled_at", "bot_handled_updates", ["handled_at"], if_not_exists=True)

    op.create_table(
        "bot_inbox",
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_inbox_done", "bot_inbox", ["done"], if_not_exists=True)
    op.create_index("ix_bot_inbox_received_at", "bot_inbox", ["received_at"], if_not_exists=True)

    op.create_table(
        "bot_matches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("counterpart_id", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "counterpart_id", name="uq_match_pair"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_matches_record_id", "bot_matches", ["record_id"], if_not_exists=True)

    op.create_table(
        "bot_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lane", sa.String(length=40), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("markup", sa.JSON(), nullable=True),
        sa.Column("from_chat", sa.BigInteger(), nullable=True),
        sa.Column("from_message_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_to_relay", sa.Integer(), nullable=True),
        sa.Column("relay_id", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_outbox_lane", "bot_outbox", ["lane"], if_not_exists=True)
    op.create_index("ix_bot_outbox_status", "bot_outbox", ["status"], if_not_exists=True)

    op.create_table(
        "bot_staff_topics",
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("topic_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        if_not_exists=True,
    )

    op.create_table(
        "bot_users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("focus", sa.String(length=30), nullable=True),
        sa.Column("focus_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )

    op.create_table(
        "bot_digest_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["digest_id"], ["bot_digests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "record_id", name="uq_digest_item"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_digest_items_digest_id", "bot_digest_items", ["digest_id"], if_not_exists=True)
    op.create_index("ix_bot_digest_items_user_id", "bot_digest_items", ["user_id"], if_not_exists=True)

    op.create_table(
        "bot_event_registrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["bot_events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "user_id", "record_id", name="uq_registration"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_event_registrations_event_id", "bot_event_registrations", ["event_id"], if_not_exists=True)
    op.create_index("ix_bot_event_registrations_user_id", "bot_event_registrations", ["user_id"], if_not_exists=True)

    op.create_table(
        "bot_searches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=True),
        sa.Column("sector", sa.String(length=60), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["bot_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_searches_user_id", "bot_searches", ["user_id"], if_not_exists=True)

    op.create_table(
        "bot_submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=True),
        sa.Column("to_preview", sa.Boolean(), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_id", sa.String(length=100), nullable=True),
        sa.Column("review_message_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_field", sa.String(length=20), nullable=True),
        sa.Column("staff_editor", sa.BigInteger(), nullable=True),
        sa.Column("staff_thread", sa.BigInteger(), nullable=True),
        sa.Column("staff_asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expiry_notice_for", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["bot_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_submissions_record_id", "bot_submissions", ["record_id"], if_not_exists=True)
    op.create_index("ix_bot_submissions_status", "bot_submissions", ["status"], if_not_exists=True)
    op.create_index("ix_bot_submissions_user_id", "bot_submissions", ["user_id"], if_not_exists=True)

    op.create_table(
        "bot_subscriptions",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("interest", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["bot_users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
        if_not_exists=True,
    )

    op.create_table(
        "bot_tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=True),
        sa.Column("to_preview", sa.Boolean(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("queries", sa.JSON(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("topic_id", sa.BigInteger(), nullable=True),
        sa.Column("card_message_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("claimed_name", sa.String(length=200), nullable=True),
        sa.Column("bot_answers", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_user", sa.Boolean(), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["bot_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_tickets_status", "bot_tickets", ["status"], if_not_exists=True)
    op.create_index("ix_bot_tickets_user_id", "bot_tickets", ["user_id"], if_not_exists=True)

    op.create_table(
        "bot_introductions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["bot_tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_introductions_ticket_id", "bot_introductions", ["ticket_id"], if_not_exists=True)

    op.create_table(
        "bot_relays",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("source_chat", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("target_message_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["bot_tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_chat", "source_message_id", name="uq_relay_source"),
        if_not_exists=True,
    )
    op.create_index("ix_bot_relays_ticket_id", "bot_relays", ["ticket_id"], if_not_exists=True)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
