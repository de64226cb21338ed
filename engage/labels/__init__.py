"""The label store: messages to label, answers, the queue, agreement, export (SQLite by default, or PostgreSQL).

    store = LabelStore()                      # engage.labels.default_url(): ENGAGE_DATABASE_URL or a SQLite file
    set_id = store.import_messages("tweets.csv", texts)
    item = store.next_message(set_id, "ana", order="uncertain", session=tab_id)
    store.label(item.message_id, "ana", 1, score=item.score, model=item.model, set_id=set_id, session=tab_id)
"""

from engage.labels.agreement import Agreement
from engage.labels.answers import UNDO_DEPTH, Undone
from engage.labels.db import data_dir, default_url
from engage.labels.migrations import LATEST as SCHEMA_VERSION
from engage.labels.queue import CLAIM_SECONDS, ORDERS, QueueItem
from engage.labels.store import AnnotatorProgress, DeletedSet, LabelSet, LabelStore, SetProgress
from engage.labels.texts import normalize_text, text_hash

__all__ = [
    "CLAIM_SECONDS", "ORDERS", "SCHEMA_VERSION", "UNDO_DEPTH", "Agreement", "AnnotatorProgress", "DeletedSet",
    "LabelSet",
    "LabelStore", "SetProgress", "QueueItem", "Undone", "data_dir", "default_url", "normalize_text", "text_hash",
]
