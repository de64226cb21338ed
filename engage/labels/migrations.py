"""Schema versions: a list of migrations applied in order, each in its own transaction.

MIGRATIONS[i] takes a database from version i to i + 1. A migration's table definitions are frozen copies of what
that version created (never schema.py's, which follow the latest version), so an old database upgrades the same way
forever. Add a migration at the end and update schema.py to match; tests compare a migrated database to schema.py.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
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
    inspect,
    text,
)

from engage.errors import InputError
from engage.labels.db import shown_url, writing
from engage.labels.schema import schema_version

# Any constant works: it only has to be the same for every engage process using this database.
_PG_MIGRATION_LOCK = 0x656E6761


def _v1_labels(conn: Connection) -> None:
    """Messages (deduplicated), labeling sets, and every answer given."""
    md = MetaData()
    Table("messages", md,
          Column("id", Integer, primary_key=True),
          Column("text_hash", String(64), nullable=False, unique=True),
          Column("text", Text, nullable=False),
          Column("created_at", DateTime, nullable=False))
    Table("label_sets", md,
          Column("id", Integer, primary_key=True),
          Column("name", String(300), nullable=False),
          Column("source", String(100), nullable=False),
          Column("created_at", DateTime, nullable=False),
          Column("n_rows", Integer, nullable=False),
          Column("n_empty", Integer, nullable=False),
          Column("extra", JSON, nullable=True))
    Table("set_messages", md,
          Column("set_id", Integer, ForeignKey("label_sets.id"), primary_key=True),
          Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
          Column("position", Integer, nullable=False),
          Index("ix_set_messages_position", "set_id", "position"))
    Table("labels", md,
          Column("id", Integer, primary_key=True),
          Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
          Column("set_id", Integer, ForeignKey("label_sets.id"), nullable=True),
          Column("annotator", String(200), nullable=False),
          Column("kind", String(5), nullable=False),
          Column("value", SmallInteger, nullable=True),
          Column("created_at", DateTime, nullable=False),
          Column("score", Float, nullable=True),
          Column("model", String(300), nullable=True),
          Column("session", String(200), nullable=True),
          Column("undone_at", DateTime, nullable=True),
          CheckConstraint("(kind = 'label' AND value IN (0, 1)) OR (kind = 'skip' AND value IS NULL)",
                          name="ck_labels_value"),
          Index("ix_labels_annotator", "annotator", "id"),
          Index("ix_labels_message", "message_id", "annotator"))
    md.create_all(conn)


def _v2_queue(conn: Connection) -> None:
    """The queue: model scores per set (for the uncertain and highest orders) and short claims on messages."""
    md = MetaData()
    # Stand-ins so that the foreign keys resolve; they exist already and are not created here.
    Table("messages", md, Column("id", Integer, primary_key=True))
    Table("label_sets", md, Column("id", Integer, primary_key=True))
    new = [
        Table("scores", md,
              Column("set_id", Integer, ForeignKey("label_sets.id"), primary_key=True),
              Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
              Column("model", String(300), nullable=False),
              Column("score", Float, nullable=False),
              Column("threshold", Float, nullable=False),
              Column("stored_at", DateTime, nullable=False)),
        Table("claims", md,
              Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
              Column("set_id", Integer, ForeignKey("label_sets.id"), nullable=False),
              Column("annotator", String(200), nullable=False),
              Column("session", String(200), nullable=False),
              Column("claimed_at", DateTime, nullable=False),
              Column("expires_at", DateTime, nullable=False),
              Index("ix_claims_session", "session", "set_id")),
    ]
    md.create_all(conn, tables=new)


def _v3_score_indexes(conn: Connection) -> None:
    """Indexes in the order of the uncertain and highest queues: the next message without sorting the set."""
    md = MetaData()
    scores = Table("scores", md, Column("set_id", Integer), Column("message_id", Integer),
                   Column("score", Float), Column("threshold", Float))
    Index("ix_scores_uncertain", scores.c.set_id, func.abs(scores.c.score - scores.c.threshold),
          scores.c.message_id).create(conn)
    Index("ix_scores_highest", scores.c.set_id, scores.c.score.desc(), scores.c.message_id).create(conn)


def _v4_audit(conn: Connection) -> None:
    """The audit trail: who promoted or activated which version, who imported or deleted which labeling set."""
    md = MetaData()
    Table("audit", md,
          Column("id", Integer, primary_key=True),
          Column("at", DateTime, nullable=False),
          Column("actor", String(320), nullable=False),
          Column("action", String(20), nullable=False),
          Column("subject", String(300), nullable=False),
          Column("set_id", Integer, nullable=True),
          Column("from_version", String(300), nullable=True),
          Column("to_version", String(300), nullable=True),
          Column("detail", JSON, nullable=True),
          CheckConstraint("action IN ('promote', 'activate', 'import', 'delete_set')", name="ck_audit_action"),
          Index("ix_audit_at", "at", "id"))
    md.create_all(conn)


_AUDIT_ACTIONS_V5 = ("promote", "activate", "import", "delete_set", "api_key_create", "api_key_revoke", "reload")


def _v5_api_keys(conn: Connection) -> None:
    """The HTTP service's API keys (only their sha256), and the audit actions for keys and reloads. The audit table's
    CHECK constraint changes: PostgreSQL alters it; SQLite cannot, so the table is copied into a new one."""
    md = MetaData()
    Table("api_keys", md,
          Column("id", Integer, primary_key=True),
          Column("name", String(100), nullable=False, unique=True),
          Column("key_hash", String(64), nullable=False, unique=True),
          Column("role", String(20), nullable=False),
          Column("created_at", DateTime, nullable=False),
          Column("created_by", String(320), nullable=False),
          Column("revoked_at", DateTime, nullable=True),
          CheckConstraint("role IN ('scorer', 'admin')", name="ck_api_keys_role"))
    md.create_all(conn)
    allowed = ", ".join(f"'{a}'" for a in _AUDIT_ACTIONS_V5)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit DROP CONSTRAINT ck_audit_action"))
        conn.execute(text(f"ALTER TABLE audit ADD CONSTRAINT ck_audit_action CHECK (action IN ({allowed}))"))
        return
    new = MetaData()
    Table("audit_v5", new,
          Column("id", Integer, primary_key=True),
          Column("at", DateTime, nullable=False),
          Column("actor", String(320), nullable=False),
          Column("action", String(20), nullable=False),
          Column("subject", String(300), nullable=False),
          Column("set_id", Integer, nullable=True),
          Column("from_version", String(300), nullable=True),
          Column("to_version", String(300), nullable=True),
          Column("detail", JSON, nullable=True),
          CheckConstraint(f"action IN ({allowed})", name="ck_audit_action"))
    new.create_all(conn)
    columns = "id, at, actor, action, subject, set_id, from_version, to_version, detail"
    conn.execute(text(f"INSERT INTO audit_v5 ({columns}) SELECT {columns} FROM audit"))
    conn.execute(text("DROP TABLE audit"))
    conn.execute(text("ALTER TABLE audit_v5 RENAME TO audit"))
    conn.execute(text("CREATE INDEX ix_audit_at ON audit (at, id)"))


def _v6_sign_ins(conn: Connection) -> None:
    """Web sign-ins, so that sign-out ends a signed cookie on the server (engage/labels/sign_ins.py)."""
    md = MetaData()
    Table("sign_ins", md,
          Column("id", String(64), primary_key=True),
          Column("email", String(320), nullable=False),
          Column("started_at", DateTime, nullable=False),
          Column("expires_at", DateTime, nullable=False),
          Column("ended_at", DateTime, nullable=True),
          Index("ix_sign_ins_email", "email"))
    md.create_all(conn)


def _v7_history(conn: Connection) -> None:
    """The scoring history (engage/monitor/): per source, day and model version, counts, histograms and a bounded
    random sample of texts; and the batches already recorded, so that scoring a file again does not count twice."""
    md = MetaData()
    Table("history_days", md,
          Column("id", Integer, primary_key=True),
          Column("source", String(200), nullable=False),
          Column("day", Date, nullable=False),
          Column("model", String(300), nullable=False),
          Column("n", Integer, nullable=False),
          Column("flagged", Integer, nullable=False),
          Column("empty", Integer, nullable=False),
          Column("non_english", Integer, nullable=False),
          Column("score_hist", JSON, nullable=False),
          Column("length_hist", JSON, nullable=False),
          Column("splits", JSON, nullable=False),
          Column("updated_at", DateTime, nullable=False),
          UniqueConstraint("source", "day", "model", name="uq_history_days"),
          Index("ix_history_days_day", "day"))
    Table("history_samples", md,
          Column("id", Integer, primary_key=True),
          Column("day_id", Integer, ForeignKey("history_days.id"), nullable=False),
          Column("priority", Float, nullable=False),
          Column("text", Text, nullable=False),
          Column("score", Float, nullable=False),
          Column("at", DateTime, nullable=False),
          Index("ix_history_samples_day", "day_id", "priority"))
    Table("history_batches", md,
          Column("batch_key", String(128), primary_key=True),
          Column("model", String(300), primary_key=True),
          Column("recorded_at", DateTime, nullable=False))
    Table("history_alerts", md,
          Column("key", String(300), primary_key=True),
          Column("first_seen", DateTime, nullable=False),
          Column("alert", JSON, nullable=False))
    md.create_all(conn)


def _v8_row_ids(conn: Connection) -> None:
    """Each set message's row in its file, named as engage.reading.row_ids names it ("tweet_id 5703...", "row 204"),
    for the labeling card (issue 24 item 4). NULL for sets imported before."""
    conn.execute(text("ALTER TABLE set_messages ADD COLUMN row_id VARCHAR(300)"))


_AUDIT_ACTIONS_V9 = (*_AUDIT_ACTIONS_V5, "bulk_label", "bulk_undo")


def _v9_bulk_labels(conn: Connection) -> None:
    """Bulk labels: a batch per bulk action, each label's batch (NULL for single labels), and the audit actions for
    giving and undoing one. The audit CHECK constraint changes as in _v5."""
    md = MetaData()
    Table("label_sets", md, Column("id", Integer, primary_key=True))  # stand-in for the foreign key
    batches = Table("label_batches", md,
                    Column("id", Integer, primary_key=True),
                    Column("set_id", Integer, ForeignKey("label_sets.id"), nullable=True),
                    Column("annotator", String(200), nullable=False),
                    Column("value", SmallInteger, nullable=False),
                    Column("size", Integer, nullable=False),
                    Column("created_at", DateTime, nullable=False),
                    Column("last_label_id", Integer, nullable=False),
                    Column("undone_at", DateTime, nullable=True),
                    Column("query", JSON, nullable=True),
                    CheckConstraint("value IN (0, 1)", name="ck_label_batches_value"),
                    Index("ix_label_batches_annotator", "annotator", "last_label_id"))
    md.create_all(conn, tables=[batches])
    # ADD COLUMN with a REFERENCES clause and no default is allowed by SQLite and PostgreSQL alike.
    conn.execute(text("ALTER TABLE labels ADD COLUMN batch_id INTEGER REFERENCES label_batches (id)"))
    conn.execute(text("CREATE INDEX ix_labels_batch ON labels (batch_id)"))
    allowed = ", ".join(f"'{a}'" for a in _AUDIT_ACTIONS_V9)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit DROP CONSTRAINT ck_audit_action"))
        conn.execute(text(f"ALTER TABLE audit ADD CONSTRAINT ck_audit_action CHECK (action IN ({allowed}))"))
        return
    new = MetaData()
    Table("audit_v9", new,
          Column("id", Integer, primary_key=True),
          Column("at", DateTime, nullable=False),
          Column("actor", String(320), nullable=False),
          Column("action", String(20), nullable=False),
          Column("subject", String(300), nullable=False),
          Column("set_id", Integer, nullable=True),
          Column("from_version", String(300), nullable=True),
          Column("to_version", String(300), nullable=True),
          Column("detail", JSON, nullable=True),
          CheckConstraint(f"action IN ({allowed})", name="ck_audit_action"))
    new.create_all(conn)
    columns = "id, at, actor, action, subject, set_id, from_version, to_version, detail"
    conn.execute(text(f"INSERT INTO audit_v9 ({columns}) SELECT {columns} FROM audit"))
    conn.execute(text("DROP TABLE audit"))
    conn.execute(text("ALTER TABLE audit_v9 RENAME TO audit"))
    conn.execute(text("CREATE INDEX ix_audit_at ON audit (at, id)"))


def _v10_review(conn: Connection) -> None:
    """Review (engage/labels/review.py): a reviewer's decisions, each the gold label of its message for training
    (the answers it overrules are kept in labels, and a copy of them in the decision); and the suspected label
    errors of the last cross-validated ranking (engage/suspects.py)."""
    md = MetaData()
    Table("messages", md, Column("id", Integer, primary_key=True))  # exists: a stand-in for the foreign keys
    new = [
        Table("reviews", md,
              Column("id", Integer, primary_key=True),
              Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
              Column("set_id", Integer, nullable=True),
              Column("reviewer", String(320), nullable=False),
              Column("value", SmallInteger, nullable=False),
              Column("source", String(20), nullable=False),
              Column("before", JSON, nullable=True),
              Column("created_at", DateTime, nullable=False),
              CheckConstraint("value IN (0, 1)", name="ck_reviews_value"),
              CheckConstraint("source IN ('dispute', 'suspect', 'label')", name="ck_reviews_source"),
              Index("ix_reviews_message", "message_id", "id")),
        Table("suspect_scores", md,
              Column("message_id", Integer, ForeignKey("messages.id"), primary_key=True),
              Column("label", SmallInteger, nullable=False),
              Column("score", Float, nullable=False),
              Column("quality", Float, nullable=False),
              Column("suspected", Boolean, nullable=False),
              Column("rank", Integer, nullable=False),
              Column("model", String(300), nullable=False),
              Column("computed_at", DateTime, nullable=False),
              Index("ix_suspect_scores_rank", "rank")),
    ]
    md.create_all(conn, tables=new)


def _v11_context(conn: Connection) -> None:
    """A set's messages keep their file's context: the row's id in the file (to join labels back) and its other
    columns (bounded: engage/labels/context.py); and each answer records how the queue picked its message (random
    picks let training correct the threshold for where the labels were picked)."""
    added = [("set_messages", Column("source_id", String(200), nullable=True)),
             ("set_messages", Column("context", JSON, nullable=True)),
             ("labels", Column("picked", String(20), nullable=True))]
    for table, column in added:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"))


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_labels, _v2_queue, _v3_score_indexes, _v4_audit,
                                                  _v5_api_keys, _v6_sign_ins, _v7_history, _v8_row_ids,
                                                  _v9_bulk_labels, _v10_review,
                                                  _v11_context]
LATEST = len(MIGRATIONS)


def _lock(conn: Connection) -> None:
    # SQLite: the transaction began IMMEDIATE, so it already holds the one write lock.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


def read_version(conn: Connection) -> int:
    """0 for an empty database; refuses a database that has tables but is not an engage label database."""
    names = inspect(conn).get_table_names()
    if "schema_version" not in names:
        if names:
            raise InputError(f"not an engage label database: it has tables ({', '.join(sorted(names)[:5])}) but "
                             "no schema_version table", file=shown_url(conn.engine.url))
        schema_version.create(conn)
    found = conn.execute(schema_version.select()).scalars().all()
    return max(found, default=0)


def _write_version(conn: Connection, version: int) -> None:
    conn.execute(schema_version.delete())
    conn.execute(schema_version.insert().values(version=version))


def migrate(engine: Engine, target: int = LATEST) -> int:
    """Brings the database up to `target` (default: the latest), one transaction per step; returns the version.

    Concurrent openers are safe: each step re-reads the version under a lock, so a step runs exactly once.
    """
    while True:
        with writing(engine) as conn:
            _lock(conn)
            version = read_version(conn)
            if version > LATEST:
                raise InputError(f"the label database has schema version {version}, newer than this engage "
                                 f"understands ({LATEST}): upgrade engage, or use another database",
                                 file=shown_url(engine.url))
            if version >= target:
                return version
            MIGRATIONS[version](conn)
            _write_version(conn, version + 1)
