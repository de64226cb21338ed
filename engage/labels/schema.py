"""The label database's tables as they are now (schema version LATEST in migrations.py).

Times are naive UTC. A message is stored once per normalized text; a set lists messages in file order; `labels` keeps
every answer ever given (a label 0/1 or a skip), and undo only stamps `undone_at`, so nothing is deleted.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, nullable=False),
)

messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("text_hash", String(64), nullable=False, unique=True),  # sha256 of the normalized text
    Column("text", Text, nullable=False),  # the text as first imported
    Column("created_at", DateTime, nullable=False),
)

label_sets = Table(
    "label_sets", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("source", String(100), nullable=False),  # "file", "score page", ...
    Column("created_at", DateTime, nullable=False),
    Column("n_rows", Integer, nullable=False),  # rows given, counting empty and repeated ones
    Column("n_empty", Integer, nullable=False),
    Column("extra", JSON, nullable=True),
)

set_messages = Table(
    "set_messages", metadata,
    Column("set_id", Integer, ForeignKey("label_sets.id"), primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
    Column("position", Integer, nullable=False),  # 0-based row of its first occurrence in the imported rows
    Column("row_id", String(300), nullable=True),  # that row in its file (engage.reading.row_ids), if given
    Column("source_id", String(200), nullable=True),  # that row's value in the file's id column, if it has one
    Column("context", JSON, nullable=True),  # that row's other columns, bounded (engage/labels/context.py)
    Index("ix_set_messages_position", "set_id", "position"),
)

labels = Table(
    "labels", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("set_id", Integer, ForeignKey("label_sets.id"), nullable=True),
    Column("annotator", String(200), nullable=False),
    Column("kind", String(5), nullable=False),  # "label" or "skip"
    Column("value", SmallInteger, nullable=True),  # 1 engageable, 0 not engageable; NULL for a skip
    Column("created_at", DateTime, nullable=False),
    Column("score", Float, nullable=True),  # the model score shown when the answer was given
    Column("model", String(300), nullable=True),
    Column("session", String(200), nullable=True),
    Column("undone_at", DateTime, nullable=True),
    # A bulk label (engage/labels/bulk.py): the batch it was given in; NULL for a label given one message at a time.
    Column("batch_id", Integer, ForeignKey("label_batches.id"), nullable=True),
    Column("picked", String(20), nullable=True),  # how the queue picked the message: "random", "uncertain", ...
    CheckConstraint("(kind = 'label' AND value IN (0, 1)) OR (kind = 'skip' AND value IS NULL)",
                    name="ck_labels_value"),
    Index("ix_labels_annotator", "annotator", "id"),
    Index("ix_labels_message", "message_id", "annotator"),
    Index("ix_labels_batch", "batch_id"),
)

# One bulk labeling action: the matches of a search (or the ticked ones) labeled at once. Its labels point here, so
# undo takes the whole batch back in one step, and agreement and training can tell bulk labels apart. last_label_id
# places the batch among the annotator's single answers for undo's window.
label_batches = Table(
    "label_batches", metadata,
    Column("id", Integer, primary_key=True),
    Column("set_id", Integer, ForeignKey("label_sets.id"), nullable=True),  # NULL once the set is deleted
    Column("annotator", String(200), nullable=False),
    Column("value", SmallInteger, nullable=False),
    Column("size", Integer, nullable=False),  # labels written (messages the annotator had not labeled so already)
    Column("created_at", DateTime, nullable=False),
    Column("last_label_id", Integer, nullable=False),
    Column("undone_at", DateTime, nullable=True),
    Column("query", JSON, nullable=True),  # the search that chose the messages, as the page described it
    CheckConstraint("value IN (0, 1)", name="ck_label_batches_value"),
    Index("ix_label_batches_annotator", "annotator", "last_label_id"),
)

scores = Table(
    "scores", metadata,
    Column("set_id", Integer, ForeignKey("label_sets.id"), primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
    Column("model", String(300), nullable=False),
    Column("score", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("stored_at", DateTime, nullable=False),
)
# The uncertain and highest queue orders walk these (engage.labels.queue.scored_key spells the same expressions).
Index("ix_scores_uncertain", scores.c.set_id, func.abs(scores.c.score - scores.c.threshold), scores.c.message_id)
Index("ix_scores_highest", scores.c.set_id, scores.c.score.desc(), scores.c.message_id)

claims = Table(
    "claims", metadata,
    Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),  # one holder per message
    Column("set_id", Integer, ForeignKey("label_sets.id"), nullable=False),
    Column("annotator", String(200), nullable=False),
    Column("session", String(200), nullable=False),
    Column("claimed_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_claims_session", "session", "set_id"),
)

# Who changed what: promotions and activations of model versions, imports and deletions of labeling sets, the HTTP
# service's API keys made and revoked and its model reloads, bulk labels given and undone. Rows are only ever added.
# set_id has no foreign key, so that the row of a deleted set stays.
AUDIT_ACTIONS = ("promote", "activate", "import", "delete_set", "api_key_create", "api_key_revoke", "reload",
                 "bulk_label", "bulk_undo")
audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(320), nullable=False),  # the signed-in e-mail, "open mode", or "cli:<os user>"
    Column("action", String(20), nullable=False),
    Column("subject", String(300), nullable=False),  # the model version, or the labeling set's name
    Column("set_id", Integer, nullable=True),
    Column("from_version", String(300), nullable=True),  # the active version before (promote, activate)
    Column("to_version", String(300), nullable=True),  # the active version after; for an import, its scorer
    Column("detail", JSON, nullable=True),
    CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in AUDIT_ACTIONS) + ")", name="ck_audit_action"),
    Index("ix_audit_at", "at", "id"),
)

# The HTTP service's API keys (engage/serve/keys.py): only a key's sha256 is stored, never the key. A revoked key keeps
# its row (revoked_at set), so its name is not reused by mistake and the audit trail's subject still means it.
API_KEY_ROLES = ("scorer", "admin")
api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the key
    Column("role", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    CheckConstraint("role IN ('scorer', 'admin')", name="ck_api_keys_role"),
)

# Web sign-ins the app has seen (issue 26): one row per sign-in with the provider, keyed by a hash of the ID token's
# issuer, subject, issue time and nonce (never the token itself). Sign-out ends the row, so the same signed cookie,
# in another tab or copied elsewhere, signs nobody in again; a row also ends at expires_at.
sign_ins = Table(
    "sign_ins", metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Index("ix_sign_ins_email", "email"),
)

# The scoring history (engage/monitor/history.py). One row per source, message day (UTC) and model version: its size
# does not grow with the messages, only with days x sources x versions; each row keeps at most [monitor] sample_size
# texts (the ones with the smallest random priorities: a uniform sample that merges exactly across batches).
history_days = Table(
    "history_days", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(200), nullable=False),
    Column("day", Date, nullable=False),  # the messages' own day in UTC (else the day they were scored)
    Column("model", String(300), nullable=False),
    Column("n", Integer, nullable=False),  # messages, empty ones included
    Column("flagged", Integer, nullable=False),
    Column("empty", Integer, nullable=False),
    Column("non_english", Integer, nullable=False),
    Column("score_hist", JSON, nullable=False),  # counts in engage.monitor.bins.SCORE_EDGES (non-empty messages)
    Column("length_hist", JSON, nullable=False),  # counts in engage.monitor.bins.LENGTH_EDGES (characters)
    Column("splits", JSON, nullable=False),  # {column: {value: [messages, flagged]}}, bounded per column
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("source", "day", "model", name="uq_history_days"),
    Index("ix_history_days_day", "day"),
)

history_samples = Table(
    "history_samples", metadata,
    Column("id", Integer, primary_key=True),
    Column("day_id", Integer, ForeignKey("history_days.id"), nullable=False),
    Column("priority", Float, nullable=False),  # uniform random; the smallest ones are kept
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("at", DateTime, nullable=False),  # the message's time, naive UTC
    Index("ix_history_samples_day", "day_id", "priority"),
)

history_batches = Table(
    "history_batches", metadata,
    Column("batch_key", String(128), primary_key=True),  # e.g. a file's sha256
    Column("model", String(300), primary_key=True),
    Column("recorded_at", DateTime, nullable=False),
)

# Alerts already raised (engage.monitor.alerts): each is sent to the webhook once, when first seen.
history_alerts = Table(
    "history_alerts", metadata,
    Column("key", String(300), primary_key=True),  # rule, day, source, model
    Column("first_seen", DateTime, nullable=False),
    Column("alert", JSON, nullable=False),
)

# Review (engage/labels/review.py, migration _v9_review). A decision is the gold label of its message: training
# takes it over the annotators' majority. Rows are only added (a later decision replaces an earlier one); the answers
# a decision overrules stay in `labels`, and `before` keeps a copy of them and of the label training had before.
REVIEW_SOURCES = ("dispute", "suspect", "label")  # where the reviewer found it: disagreement, suspect, older label
reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("set_id", Integer, nullable=True),  # the set it was reviewed in (context only: no key, survives deletion)
    Column("reviewer", String(320), nullable=False),  # the signed-in address, "open mode" or "cli:<os user>"
    Column("value", SmallInteger, nullable=False),  # the gold label: 1 engageable, 0 not engageable
    Column("source", String(20), nullable=False),
    Column("before", JSON, nullable=True),  # {"labels": {annotator: value}, "label": training's label before}
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("value IN (0, 1)", name="ck_reviews_value"),
    CheckConstraint("source IN ('dispute', 'suspect', 'label')", name="ck_reviews_source"),
    Index("ix_reviews_message", "message_id", "id"),
)

# The last suspected-errors ranking (engage/suspects.py): every training label with its out-of-fold score, replaced
# whole by the next ranking.
suspect_scores = Table(
    "suspect_scores", metadata,
    Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
    Column("label", SmallInteger, nullable=False),  # the label training had
    Column("score", Float, nullable=False),  # out-of-fold probability of engageable
    Column("quality", Float, nullable=False),  # out-of-fold probability of the given label (low: suspect)
    Column("suspected", Boolean, nullable=False),  # cleanlab's confident learning counts it as a label issue
    Column("rank", Integer, nullable=False),  # 1 = most suspect
    Column("model", String(300), nullable=False),  # the recipe's version (or file) the ranking was trained like
    Column("computed_at", DateTime, nullable=False),
    Index("ix_suspect_scores_rank", "rank"),
)
