"""The label store: one object per database, safe to share between threads (each call takes its own connection).

Every call that writes is one transaction, committed before the call returns: a label the caller was told about
is on disk (SQLite: WAL, synchronous FULL) or in PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from engage.access import local_actor
from engage.errors import InputError
from engage.labels import agreement as agreement_mod
from engage.labels import answers, audit, bulk, export, picks, queue, review, search, sign_ins
from engage.labels import context as context_mod
from engage.labels.db import as_utc, default_url, open_engine, shown_url, snapshot, upsert_insert, utcnow, writing
from engage.labels.migrations import migrate
from engage.labels.schema import claims, label_batches, label_sets, labels, messages, scores, set_messages
from engage.labels.texts import as_text, normalize_text, text_hash
from engage.reading import Messages

_CHUNK = 500


@dataclass(frozen=True)
class LabelSet:
    id: int
    name: str
    source: str
    created_at: datetime  # UTC
    size: int             # distinct messages
    n_rows: int           # rows given, counting empty and repeated ones
    n_empty: int
    extra: dict | None


@dataclass(frozen=True)
class DeletedSet:
    id: int
    name: str
    messages: int      # messages the set listed (they stay in other sets that share them)
    labels_kept: int   # answers given in the set: kept, no longer tied to it (work people did is never deleted)


@dataclass(frozen=True)
class AnnotatorProgress:
    labeled: int
    skipped: int


@dataclass(frozen=True)
class SetProgress:
    total: int                                   # messages in the set
    labeled: int                                 # of them, labeled by at least one annotator
    by_annotator: dict[str, AnnotatorProgress]   # each annotator's active answers on the set's messages
    from_other_sets: int = 0                     # of the labeled, those labeled only while labeling other sets


def _ident(value: object) -> int | None:
    """Ids from pandas come as numpy integers, which the PostgreSQL driver does not take."""
    return None if value is None else int(value)


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _unique_texts(texts: Iterable[object]) -> tuple[dict[str, tuple[int, str]], int, int]:
    """hash -> (first position, text); number of rows; number of empty rows."""
    first: dict[str, tuple[int, str]] = {}
    n_rows = n_empty = 0
    for position, value in enumerate(texts):
        n_rows += 1
        text = as_text(value)
        if not normalize_text(text):
            n_empty += 1
            continue
        first.setdefault(text_hash(text), (position, text))
    return first, n_rows, n_empty


class LabelStore:
    def __init__(self, url: str | None = None, *, claim_seconds: float = queue.CLAIM_SECONDS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        """Opens (creating or upgrading) the database at `url`, default engage.labels.default_url(). `clock` gives
        the naive UTC time claims are taken and expire by (tests move it instead of sleeping)."""
        self.url = url or default_url()
        self.claim_seconds = claim_seconds
        self.clock = clock
        self.engine = open_engine(self.url)
        try:
            self.schema_version = migrate(self.engine)
        except DBAPIError as exc:
            self.engine.dispose()
            raise InputError(f"cannot open the label database: {exc.orig}", file=shown_url(self.url)) from exc
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStore({shown_url(self.url)!r})"

    # ------------------------------------------------------------ sets and messages

    def import_messages(self, name: str, texts: Iterable[object], source: str = "file",
                        extra: dict | None = None, *, actor: str | None = None, scored_by: str | None = None,
                        row_ids: Sequence[str] | None = None, context: pd.DataFrame | None = None,
                        text_col: str | None = None) -> int:
        """A new labeling set from rows of text (file order kept); returns its id. Texts equal after normalization
        are one message, shared with other sets; empty texts are counted and left out. The import is audited in
        the same transaction, under `actor` (default: cli:<os user>); `scored_by` names the model whose scores
        come with it, if any; `row_ids` names each row in its file (engage.reading.row_ids), for the card;
        `context`: the file's rows (aligned with texts; `text_col` names the text): each message keeps its first
        row's id and other columns, bounded (engage/labels/context.py)."""
        if not isinstance(name, str) or not name.strip():
            raise InputError("a labeling set needs a name")
        texts = list(texts)
        first, n_rows, n_empty = _unique_texts(texts)
        if not first:
            raise InputError("no messages to label: every text is empty", file=name)
        source_ids: list = [None] * len(texts)
        rows_context: list = [None] * len(texts)
        if context is not None:
            if len(context) != len(texts):
                raise InputError(f"{len(texts)} texts but {len(context)} rows of context", file=name)
            source_ids, rows_context, record = context_mod.of_rows(context.reset_index(drop=True), text_col)
            extra = {**(extra or {}), **record}
        with writing(self.engine) as conn:
            set_id = conn.execute(label_sets.insert().values(
                name=name.strip(), source=source, created_at=utcnow(), n_rows=n_rows, n_empty=n_empty,
                extra=extra)).inserted_primary_key[0]
            ids = self._message_ids(conn, first)
            rows = [dict(set_id=set_id, message_id=ids[h], position=pos,
                         row_id=None if row_ids is None else str(row_ids[pos])[:300],
                         source_id=source_ids[pos], context=rows_context[pos]) for h, (pos, _) in first.items()]
            for chunk in _chunks(rows):
                conn.execute(set_messages.insert(), chunk)
            audit.record(conn, "import", actor or local_actor(), name.strip(), set_id=set_id, to_version=scored_by,
                         detail={"source": source, "messages": len(rows), "rows": n_rows})
        return int(set_id)

    def delete_set(self, set_id: int, actor: str | None = None) -> DeletedSet:
        """Removes a labeling set (its scores, claims and message list) and audits it, in one transaction. The
        answers given in it are kept, no longer tied to the set: training from every set still uses them."""
        set_id = _ident(set_id)
        with writing(self.engine) as conn:
            name = self._check_set(conn, set_id)
            n_messages = conn.execute(select(func.count()).where(set_messages.c.set_id == set_id)).scalar_one()
            kept = conn.execute(update(labels).where(labels.c.set_id == set_id).values(set_id=None)).rowcount
            conn.execute(update(label_batches).where(label_batches.c.set_id == set_id).values(set_id=None))
            for table in (claims, scores, set_messages):
                conn.execute(delete(table).where(table.c.set_id == set_id))
            conn.execute(delete(label_sets).where(label_sets.c.id == set_id))
            audit.record(conn, "delete_set", actor or local_actor(), name, set_id=set_id,
                         detail={"messages": int(n_messages), "labels_kept": int(kept)})
        return DeletedSet(set_id, name, int(n_messages), int(kept))

    # ------------------------------------------------------------ web sign-ins

    def sign_in_active(self, claims: Mapping[str, object], email: str, lifetime: timedelta) -> bool:
        """Whether the sign-in these ID-token claims come from may act now (recorded at first sight; refused once
        signed out or older than `lifetime`): engage/labels/sign_ins.py."""
        key, now = sign_ins.key_of(claims), self.clock()
        with snapshot(self.engine) as conn:  # a read on every action; a write only at a sign-in's first sight
            row = sign_ins.state(conn, key)
        if row is None:
            with writing(self.engine) as conn:
                row = sign_ins.record(conn, key, email, lifetime, now, sign_ins.issued_at(claims))
        return sign_ins.acts(row, email, now)

    def end_sign_in(self, claims: Mapping[str, object]) -> None:
        """Sign-out: that sign-in's cookie, wherever it is (another tab, a copy), acts no more."""
        with writing(self.engine) as conn:
            sign_ins.end(conn, sign_ins.key_of(claims), self.clock())

    # ------------------------------------------------------------ audit

    def record_audit(self, action: str, actor: str | None, subject: str, *, set_id: int | None = None,
                     from_version: str | None = None, to_version: str | None = None,
                     detail: dict | None = None) -> int:
        """One audit row (promote, activate, import, delete_set), committed before returning; returns its id."""
        with writing(self.engine) as conn:
            return audit.record(conn, action, actor or local_actor(), subject, set_id=_ident(set_id),
                                from_version=from_version, to_version=to_version, detail=detail)

    def audit(self, limit: int | None = None) -> pd.DataFrame:
        """The audit trail, newest first: id, at (naive UTC), actor, action, subject, set_id, from_version,
        to_version, detail."""
        with snapshot(self.engine) as conn:
            return audit.rows(conn, limit)

    @staticmethod
    def _sources(conn, set_id: int | None) -> pd.DataFrame:
        """set_id, message_id, source_row, source_id of the set's messages (every set's when set_id is None)."""
        query = select(set_messages.c.set_id, set_messages.c.message_id, set_messages.c.position,
                       set_messages.c.source_id)
        if set_id is not None:
            query = query.where(set_messages.c.set_id == set_id)
        return pd.DataFrame(conn.execute(query).all(), columns=["set_id", "message_id", "position", "source_id"])

    def export_audit(self, fmt: str = "csv", path: str | Path | None = None) -> bytes:
        """The audit trail as CSV or JSON Lines bytes (exported beside the labels); also written to `path`."""
        if fmt not in export.FORMATS:
            raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(export.FORMATS)}")
        data = export.to_bytes(audit.export_rows(self.audit()), fmt)
        if path is not None:
            export.write_atomic(data, path)
        return data

    @staticmethod
    def _message_ids(conn, first: dict[str, tuple[int, str]]) -> dict[str, int]:
        now = utcnow()
        rows = [dict(text_hash=h, text=text, created_at=now) for h, (_, text) in first.items()]
        insert = upsert_insert(conn)(messages).on_conflict_do_nothing(index_elements=[messages.c.text_hash])
        ids: dict[str, int] = {}
        for chunk in _chunks(rows):
            conn.execute(insert, chunk)  # concurrent importers of the same text: one row wins, both use it
            hashes = [row["text_hash"] for row in chunk]
            found = conn.execute(select(messages.c.text_hash, messages.c.id).where(messages.c.text_hash.in_(hashes)))
            ids.update(dict(found.tuples().all()))
        return ids

    def sets(self) -> list[LabelSet]:
        size = (select(set_messages.c.set_id, func.count().label("size"))
                .group_by(set_messages.c.set_id).subquery())
        query = (select(label_sets, size.c.size).join(size, size.c.set_id == label_sets.c.id)
                 .order_by(label_sets.c.id))
        with snapshot(self.engine) as conn:
            rows = conn.execute(query).all()
        return [LabelSet(id=r.id, name=r.name, source=r.source, created_at=as_utc(r.created_at), size=r.size,
                         n_rows=r.n_rows, n_empty=r.n_empty, extra=r.extra) for r in rows]

    def _check_set(self, conn, set_id: int) -> str:
        name = conn.execute(select(label_sets.c.name).where(label_sets.c.id == set_id)).scalar()
        if name is None:
            raise InputError(f"no labeling set with id {set_id}")
        return name

    def messages(self, set_id: int) -> pd.DataFrame:
        """The set's messages in file order: message_id, text, position (to score them, then store_scores)."""
        set_id = _ident(set_id)
        query = (select(set_messages.c.message_id, messages.c.text, set_messages.c.position)
                 .join(messages, messages.c.id == set_messages.c.message_id)
                 .where(set_messages.c.set_id == set_id).order_by(set_messages.c.position))
        with snapshot(self.engine) as conn:
            self._check_set(conn, set_id)
            return pd.DataFrame(conn.execute(query).all(), columns=["message_id", "text", "position"])

    def context(self, set_id: int, message_id: int) -> dict[str, str]:
        """The message's row in the set's file, bounded (engage/labels/context.py): column -> value; {} if none."""
        query = select(set_messages.c.context).where(set_messages.c.set_id == _ident(set_id),
                                                     set_messages.c.message_id == _ident(message_id))
        with snapshot(self.engine) as conn:
            return conn.execute(query).scalar() or {}

    def store_scores(self, set_id: int, model_name: str, scores_by_message_id: Mapping[int, float],
                     threshold: float) -> int:
        """Stores (replacing) model scores for messages of the set; the uncertain and highest orders use them."""
        set_id = _ident(set_id)
        rows = [dict(set_id=set_id, message_id=int(k), model=model_name, score=float(v), threshold=float(threshold),
                     stored_at=utcnow()) for k, v in dict(scores_by_message_id).items()]
        bad = [r["message_id"] for r in rows if not math.isfinite(r["score"])]
        if bad or not math.isfinite(float(threshold)):
            raise InputError(f"scores and threshold must be finite numbers (bad: messages {bad[:5]})")
        with writing(self.engine) as conn:
            self._check_set(conn, set_id)
            self._check_members(conn, set_id, [r["message_id"] for r in rows])
            insert = upsert_insert(conn)(scores)
            upsert = insert.on_conflict_do_update(
                index_elements=[scores.c.set_id, scores.c.message_id],
                set_={key: insert.excluded[key] for key in ("model", "score", "threshold", "stored_at")})
            for chunk in _chunks(rows):
                conn.execute(upsert, chunk)
        return len(rows)

    @staticmethod
    def _check_members(conn, set_id: int, message_ids: list[int]) -> None:
        for chunk in _chunks(message_ids):
            found = set(conn.execute(select(set_messages.c.message_id).where(
                set_messages.c.set_id == set_id, set_messages.c.message_id.in_(chunk))).scalars())
            missing = [m for m in chunk if m not in found]
            if missing:
                raise InputError(f"messages {missing[:5]} are not in labeling set {set_id}")

    # ------------------------------------------------------------ labeling

    def next_message(self, set_id: int, annotator: str, order: str = "uncertain",
                     session: str | None = None) -> queue.QueueItem | None:
        """The next message for this annotator, claimed for `session` (default: the annotator) for claim_seconds.
        Asking again before answering returns the same message. None when nothing is left."""
        set_id = _ident(set_id)
        annotator = answers.check_annotator(annotator)
        queue.check_order(order)
        with writing(self.engine) as conn:
            self._check_set(conn, set_id)
            return queue.next_message(conn, set_id, annotator, order, session or annotator, self.claim_seconds,
                                      now=self.clock())

    def label(self, message_id: int, annotator: str, value: int, score: float | None = None,
              model: str | None = None, set_id: int | None = None, session: str | None = None,
              picked: str | None = None) -> int:
        """Records a label (1 engageable, 0 not engageable), committed before returning; returns its id. `picked`:
        how the queue picked the message (QueueItem.picked; random picks correct the threshold at training)."""
        if value is None:
            raise InputError("a label is 1 (engageable) or 0 (not engageable), got None (use skip)")
        return self._answer(message_id, annotator, value, score, model, set_id, session, picked)

    def skip(self, message_id: int, annotator: str, score: float | None = None, model: str | None = None,
             set_id: int | None = None, session: str | None = None, picked: str | None = None) -> int:
        """Records a skip (not a label): the annotator is not shown the message again."""
        return self._answer(message_id, annotator, None, score, model, set_id, session, picked)

    def _answer(self, message_id, annotator, value, score, model, set_id, session, picked=None) -> int:
        set_id = _ident(set_id)
        with writing(self.engine) as conn:
            return answers.record(conn, int(message_id), annotator, value, score=score, model=model,
                                  set_id=set_id, session=session or answers.check_annotator(annotator),
                                  picked=picked)

    def undo(self, annotator: str, set_id: int | None = None, session: str | None = None) -> answers.Undone | None:
        """Undoes the annotator's last answer (up to UNDO_DEPTH back); the message comes back next for the session.
        None when there is nothing left to undo."""
        set_id = _ident(set_id)
        annotator = answers.check_annotator(annotator)
        with writing(self.engine) as conn:
            return answers.undo(conn, annotator, set_id, session or annotator, self.claim_seconds, now=self.clock())

    # ------------------------------------------------------------ search and bulk labels

    def set_texts(self, set_id: int) -> pd.DataFrame:
        """The set's texts for search (they never change after import, so a page reads them once)."""
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            self._check_set(conn, set_id)
            return search.set_texts(conn, set_id)

    def search(self, set_id: int, query: search.SearchQuery, annotator: str | None = None,
               texts: pd.DataFrame | None = None, columns: pd.DataFrame | None = None) -> search.Matches:
        """The set's messages matching `query` with their scores and label status (engage/labels/search.py);
        `texts`: set_texts(set_id) read before, else read now; `columns`: the set's own columns by message_id."""
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            self._check_set(conn, set_id)
            if texts is None:
                texts = search.set_texts(conn, set_id)
            state = search.set_state(conn, set_id, annotator)
        return search.run(texts, state, query, columns)

    def bulk_plan(self, set_id: int, message_ids: Iterable[int], annotator: str, value: int) -> bulk.BulkPlan:
        """What bulk_label would do (how many get a label, how many keep the same one), to show before it."""
        with snapshot(self.engine) as conn:
            return bulk.plan(conn, _ident(set_id), list(message_ids), annotator, value)

    def bulk_label(self, set_id: int, message_ids: Iterable[int], annotator: str, value: int, *,
                   actor: str | None = None, session: str | None = None, query: dict | None = None) -> bulk.Batch:
        """Labels the messages as one batch (one undo takes it all back), audited under `actor` (default: the
        annotator), committed before returning (engage/labels/bulk.py)."""
        with writing(self.engine) as conn:
            return bulk.label(conn, _ident(set_id), list(message_ids), annotator, value,
                              actor=actor or answers.check_annotator(annotator), session=session, query=query)

    def focus(self, set_id: int, message_id: int, annotator: str, session: str | None = None) -> None:
        """The session's card shows this message of the set next (engage/labels/queue.py focus)."""
        set_id, annotator = _ident(set_id), answers.check_annotator(annotator)
        with writing(self.engine) as conn:
            self._check_set(conn, set_id)
            self._check_members(conn, set_id, [int(message_id)])
            queue.focus(conn, set_id, int(message_id), annotator, session or annotator, self.claim_seconds,
                        now=self.clock())

    def batches(self, set_id: int | None = None) -> pd.DataFrame:
        with snapshot(self.engine) as conn:
            return bulk.batches(conn, _ident(set_id))

    def release(self, session: str, set_id: int | None = None) -> None:
        """Gives back the session's claims (e.g. when its tab changes order or set)."""
        set_id = _ident(set_id)
        with writing(self.engine) as conn:
            queue.release(conn, session, set_id)

    # ------------------------------------------------------------ results

    def progress(self, set_id: int) -> SetProgress:
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            self._check_set(conn, set_id)
            total = conn.execute(select(func.count()).where(set_messages.c.set_id == set_id)).scalar_one()
            active = answers.active_answers(conn, set_id)
        labeled = active[active["kind"] == "label"]
        counts = active.groupby(["annotator", "kind"]).size()
        by_annotator = {name: AnnotatorProgress(labeled=int(counts.get((name, "label"), 0)),
                                                skipped=int(counts.get((name, "skip"), 0)))
                        for name in sorted(active["annotator"].unique())}
        # Labels follow the message, not the set: a message labeled in another set counts here too.
        here = set(labeled.loc[labeled["set_id"] == set_id, "message_id"])
        elsewhere = set(labeled["message_id"]) - here
        return SetProgress(total=int(total), labeled=int(labeled["message_id"].nunique()), by_annotator=by_annotator,
                           from_other_sets=len(elsewhere))

    def _active_labels(self, set_id: int | None) -> pd.DataFrame:
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            if set_id is not None:
                self._check_set(conn, set_id)
            return answers.active_labels(conn, set_id)

    def bulk_labels(self, set_id: int | None = None) -> int:
        """Active labels given in bulk (on the set's messages, or all), what training may leave out."""
        return int(self._active_labels(set_id)["batch_id"].notna().sum())

    def active_labels(self, set_id: int | None = None) -> pd.DataFrame:
        """Each annotator's active label per message (of the set, if given), oldest first: label_id, message_id,
        text, annotator, value, created_at, score, model, set_id, session."""
        return self._active_labels(set_id)

    def agreement(self, set_id: int | None = None) -> agreement_mod.Agreement:
        return agreement_mod.agreement(self._active_labels(set_id))

    def labeled_messages(self, set_id: int | None = None, bulk: bool = True) -> Messages:
        """One label per labeled message (a reviewer's decision where there is one, else the majority of
        annotators, ties to the latest label: engage.labels.review.gold), as engage.reading Messages with text_col
        "text" and label_col "label", ready for engage.train.train_model. bulk=False leaves bulk labels out
        (engage/labels/bulk.py)."""
        active = self._active_labels(set_id)
        if not bulk:
            active = active[active["batch_id"].isna()]
        frame = review.gold(active, self.decisions(set_id))
        source = "label store" if set_id is None else f"label store, set {set_id}"
        random_ids = set(active.loc[active["picked"] == "random", "message_id"])
        weights = picks.threshold_weights(frame["message_id"].isin(random_ids).to_numpy(),
                                          frame["label"].to_numpy(), self._pool_size(set_id)) if len(frame) else None
        return Messages(frame=frame, text_col="text", label_col="label", texts=frame["text"].tolist(),
                        labels=frame["label"].to_numpy(np.int8), empty_rows=[], source=source, first_row=1,
                        threshold_weights=weights)

    def _pool_size(self, set_id: int | None) -> int:
        """Distinct messages the labels were picked from: the set's, or every set's."""
        query = select(func.count(func.distinct(set_messages.c.message_id)))
        if set_id is not None:
            query = query.where(set_messages.c.set_id == _ident(set_id))
        with snapshot(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def export(self, set_id: int | None = None, fmt: str = "csv", path: str | Path | None = None,
               history: bool = False, spreadsheet_safe: bool = True) -> bytes:
        """Each annotator's active label per message, with whether it was given in bulk, the message's training
        label and the reviewer who decided it (or, with history=True, every answer including skips and undone ones)
        as CSV or JSON Lines bytes; also written to `path` if given. Each row says where its message came from
        (export.with_source: source_row, source_id). CSV is formula-guarded unless spreadsheet_safe is False
        (engage.formula_guard.PLAIN_CSV)."""
        set_id = _ident(set_id)
        if fmt not in export.FORMATS:
            raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(export.FORMATS)}")
        with snapshot(self.engine) as conn:
            if set_id is not None:
                self._check_set(conn, set_id)
            if history:
                rows = export.history_rows(answers.answer_history(conn, set_id))
            else:
                active, decided = answers.active_labels(conn, set_id), review.decisions(conn, set_id)
                rows = export.label_rows(active, review.gold(active, decided), decided)
            rows = export.with_source(rows, self._sources(conn, set_id))
        data = export.to_bytes(rows, fmt, spreadsheet_safe)
        if path is not None:
            export.write_atomic(data, path)
        return data


    # ------------------------------------------------------------ review (engage/labels/review.py)

    def decide(self, message_id: int, reviewer: str, value: int, *, source: str,
               set_id: int | None = None) -> int:
        """A reviewer's decision: the message's gold label for training from now on (the answers it overrules are
        kept); committed before returning; returns its id. Who may decide is the caller's check (Action.REVIEW)."""
        with writing(self.engine) as conn:
            return review.decide(conn, int(message_id), reviewer, value, source=source, set_id=_ident(set_id))

    def decisions(self, set_id: int | None = None, *, latest: bool = True) -> pd.DataFrame:
        """Each message's latest decision (latest=False: every decision, the replaced ones too), oldest first."""
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            return review.decisions(conn, set_id, latest=latest)

    def message_review(self, message_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One message's active labels (annotator, value, ...) and every decision on it, oldest first."""
        with snapshot(self.engine) as conn:
            return review.message_labels(conn, int(message_id)), review.decisions(conn, message_id=int(message_id),
                                                                                   latest=False)

    def review_agreement(self, set_id: int | None = None) -> review.ReviewAgreement:
        """Agreement with the training label before and after review, and the disagreements decided and open."""
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            if set_id is not None:
                self._check_set(conn, set_id)
            return review.review_agreement(answers.active_labels(conn, set_id), review.decisions(conn, set_id))

    def save_suspects(self, message_ids, ranked: pd.DataFrame, given, model: str) -> int:
        """Stores a suspected-errors ranking (engage.suspects.rank_suspects), replacing the last one."""
        with writing(self.engine) as conn:
            return review.save_suspects(conn, message_ids, ranked, given, model)

    def suspects(self, set_id: int | None = None, *, limit: int | None = None,
                 reviewed: bool = False) -> pd.DataFrame:
        """The stored ranking, most suspect first; without `reviewed`, decided messages are left out."""
        set_id = _ident(set_id)
        with snapshot(self.engine) as conn:
            return review.suspects(conn, set_id, limit=limit, reviewed=reviewed)
