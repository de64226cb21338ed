"""Review: one place where a reviewer (an analyst or an admin) decides the label training uses, for the three kinds
of label worth a second look: disagreements between annotators, suspected label errors (engage/suspects.py), and
any older label.

A decision is a row of `reviews`, never an edit: the annotators' answers stay in `labels` as they were, the
decision keeps a copy of them and of the label training had before it (`before`), with the reviewer and the time.
The latest decision on a message is its gold label: training takes it over the annotators' majority (`gold`).
Annotators do not decide; they correct their own older answers by answering again (engage.labels.answers.record),
which keeps the earlier answer too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, exists, select

from engage.errors import InputError
from engage.labels.agreement import majority
from engage.labels.db import utcnow
from engage.labels.schema import REVIEW_SOURCES, labels, messages, reviews, set_messages, suspect_scores

_REVIEWER_MAX = reviews.c.reviewer.type.length
DECISION_COLUMNS = ["review_id", "message_id", "text", "value", "reviewer", "source", "before", "created_at",
                    "set_id"]
SUSPECT_COLUMNS = ["message_id", "text", "label", "score", "quality", "suspected", "rank", "model", "computed_at"]


@dataclass(frozen=True)
class ReviewAgreement:
    """How the annotators' labels agree with the label training uses, before review (their majority, a tie to the
    latest label) and after (a reviewer's decision where there is one), and where the disagreements stand."""
    disputed: int              # messages the annotators disagree on
    decided: int               # of them, decided by a reviewer
    changed: int               # messages whose training label a decision changed
    before: float | None       # share of the annotators' labels equal to the training label before review
    after: float | None        # the same share after review
    by_annotator: pd.DataFrame  # annotator, labels, before, after

    @property
    def open(self) -> int:
        return self.disputed - self.decided


def _in_set(set_id: int | None, column):
    return exists().where(set_messages.c.set_id == set_id, set_messages.c.message_id == column)


def check_reviewer(reviewer: str) -> str:
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise InputError("a decision needs who made it (the signed-in address or cli:<user>)")
    if len(reviewer.strip()) > _REVIEWER_MAX:
        raise InputError(f"a reviewer is at most {_REVIEWER_MAX} characters, got {len(reviewer.strip())}")
    return reviewer.strip()


def decisions(conn: Connection, set_id: int | None = None, *, latest: bool = True,
              message_id: int | None = None) -> pd.DataFrame:
    """The decisions (on the set's messages, or on one message, if given), oldest first; latest=True: only each
    message's last one."""
    query = (select(reviews.c.id.label("review_id"), reviews.c.message_id, messages.c.text, reviews.c.value,
                    reviews.c.reviewer, reviews.c.source, reviews.c.before, reviews.c.created_at, reviews.c.set_id)
             .join(messages, messages.c.id == reviews.c.message_id).order_by(reviews.c.id))
    if set_id is not None:
        query = query.where(_in_set(set_id, reviews.c.message_id))
    if message_id is not None:
        query = query.where(reviews.c.message_id == message_id)
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=DECISION_COLUMNS)
    frame["value"] = frame["value"].astype("int8")
    if latest:
        frame = frame.drop_duplicates("message_id", keep="last").reset_index(drop=True)
    return frame


def gold(active: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """One training label per message: a reviewer's latest decision where there is one, else the annotators'
    majority (engage.labels.agreement.majority). message_id, text, label, n_labels, n_engageable, reviewed; in
    message_id order. A decided message counts even if its answers were all undone since."""
    voted = majority(active) if not active.empty else pd.DataFrame(
        columns=["message_id", "text", "label", "n_labels", "n_engageable"])
    voted["reviewed"] = False
    if decided.empty:
        return voted.astype({"label": np.int8, "reviewed": bool})
    by_id = decided.set_index("message_id")
    out = voted.set_index("message_id")
    missing = by_id.index.difference(out.index)
    extra = pd.DataFrame({"text": by_id.loc[missing, "text"], "label": by_id.loc[missing, "value"],
                          "n_labels": 0, "n_engageable": 0, "reviewed": True}, index=missing)
    out = pd.concat([out, extra]) if len(extra) else out
    out.loc[by_id.index, "label"] = by_id["value"].to_numpy()
    out.loc[by_id.index, "reviewed"] = True
    out = out.rename_axis("message_id").sort_index().reset_index()
    return out.astype({"label": np.int8, "reviewed": bool, "n_labels": int, "n_engageable": int})


def decide(conn: Connection, message_id: int, reviewer: str, value: int, *, source: str,
           set_id: int | None = None) -> int:
    """Records a reviewer's decision (the message's gold label from now on), with the answers it overrules and the
    training label before it; returns its id."""
    reviewer = check_reviewer(reviewer)
    if isinstance(value, bool) or value not in (0, 1):
        raise InputError(f"a decision is 1 (engageable) or 0 (not engageable), got {value!r}")
    if source not in REVIEW_SOURCES:
        raise InputError(f"unknown review source {source!r}; use one of {', '.join(REVIEW_SOURCES)}")
    if conn.execute(select(messages.c.id).where(messages.c.id == message_id)).first() is None:
        raise InputError(f"no message with id {message_id} in the label database")
    if set_id is not None and not conn.execute(select(_in_set(set_id, message_id))).scalar():
        raise InputError(f"message {message_id} is not in labeling set {set_id}")
    mine = message_labels(conn, message_id)
    before_label = gold(mine, decisions(conn, message_id=message_id))["label"]
    before = {"labels": {str(a): int(v) for a, v in zip(mine["annotator"], mine["value"], strict=True)},
              "label": int(before_label.iloc[0]) if len(before_label) else None}
    row = dict(message_id=int(message_id), set_id=set_id, reviewer=reviewer, value=int(value), source=source,
               before=before, created_at=utcnow())
    return int(conn.execute(reviews.insert().values(**row)).inserted_primary_key[0])


def message_labels(conn: Connection, message_id: int) -> pd.DataFrame:
    """One message's active labels (as engage.labels.answers.active_labels has them), read on their own."""
    query = (select(labels.c.id.label("label_id"), labels.c.message_id, messages.c.text, labels.c.annotator,
                    labels.c.kind, labels.c.value)
             .join(messages, messages.c.id == labels.c.message_id)
             .where(labels.c.message_id == message_id, labels.c.undone_at.is_(None)).order_by(labels.c.id))
    found = pd.DataFrame(conn.execute(query).mappings().all(), columns=list(query.selected_columns.keys()))
    latest = found.drop_duplicates("annotator", keep="last")
    return latest[latest["kind"] == "label"].astype({"value": "int8"}).reset_index(drop=True)


def review_agreement(active: pd.DataFrame, decided: pd.DataFrame) -> ReviewAgreement:
    """Agreement before and after review (see ReviewAgreement), on the same labels."""
    if active.empty:
        return ReviewAgreement(0, 0, 0, None, None, pd.DataFrame(columns=["annotator", "labels", "before",
                                                                          "after"]))
    counts = active.groupby("message_id")["value"].agg(["min", "max"])
    disputed = set(counts.index[counts["min"] != counts["max"]])
    was = majority(active).set_index("message_id")["label"]
    now = gold(active, decided).set_index("message_id")["label"]
    rows = active.assign(before=active["value"].to_numpy() == was.loc[active["message_id"]].to_numpy(),
                         after=active["value"].to_numpy() == now.loc[active["message_id"]].to_numpy())
    per = rows.groupby("annotator").agg(labels=("value", "size"), before=("before", "mean"), after=("after", "mean"))
    changed = int((was != now.loc[was.index]).sum())
    return ReviewAgreement(disputed=len(disputed), decided=len(disputed & set(decided["message_id"])),
                           changed=changed, before=float(rows["before"].mean()), after=float(rows["after"].mean()),
                           by_annotator=per.reset_index())


def save_suspects(conn: Connection, message_ids, ranked: pd.DataFrame, given, model: str) -> int:
    """Replaces the stored ranking with this one (engage.suspects.rank_suspects's frame, row for row with
    message_ids and `given`, the labels it ranked)."""
    from engage.suspects import QUALITY_COL, RANK_COL, SCORE_COL, SUSPECT_COL

    now = utcnow()
    rows = [dict(message_id=int(m), label=int(y), score=float(s), quality=float(q), suspected=bool(i), rank=int(r),
                 model=str(model)[:300], computed_at=now)
            for m, y, s, q, i, r in zip(message_ids, given, ranked[SCORE_COL], ranked[QUALITY_COL],
                                        ranked[SUSPECT_COL], ranked[RANK_COL], strict=True)]
    conn.execute(delete(suspect_scores))
    for start in range(0, len(rows), 500):
        conn.execute(suspect_scores.insert(), rows[start:start + 500])
    return len(rows)


def suspects(conn: Connection, set_id: int | None = None, *, limit: int | None = None,
             reviewed: bool = False) -> pd.DataFrame:
    """The stored ranking, most suspect first (on the set's messages, if given); without `reviewed`, the messages a
    reviewer decided are left out (the queue)."""
    query = (select(suspect_scores.c.message_id, messages.c.text, suspect_scores.c.label, suspect_scores.c.score,
                    suspect_scores.c.quality, suspect_scores.c.suspected, suspect_scores.c.rank,
                    suspect_scores.c.model, suspect_scores.c.computed_at)
             .join(messages, messages.c.id == suspect_scores.c.message_id).order_by(suspect_scores.c.rank))
    if set_id is not None:
        query = query.where(_in_set(set_id, suspect_scores.c.message_id))
    if not reviewed:
        query = query.where(~exists().where(reviews.c.message_id == suspect_scores.c.message_id))
    if limit is not None:
        query = query.limit(int(limit))
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=SUSPECT_COLUMNS)
