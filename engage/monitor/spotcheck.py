"""Spot checks: a random labeling set drawn from a period's sampled messages, labeled on the Label page, then
measured: precision, recall and F1 of the model's flags against the labels, with intervals."""

from __future__ import annotations

from datetime import date

import numpy as np

from engage.errors import InputError
from engage.labels import LabelStore
from engage.monitor.history import read_history
from engage.monitor.performance import measured

SOURCE = "spot check"


def draw_spot_check(store: LabelStore, *, url: str | None = None, since: date, until: date, model: str,
                    threshold: float, source: str | None = None, size: int = 100, seed: int | None = None,
                    actor: str | None = None) -> int:
    """A new labeling set of at most `size` messages drawn at random from the period's sample; returns its id."""
    samples = read_history(url, since=since, until=until, source=source, model=model).samples
    samples = samples.drop_duplicates("text")
    if samples.empty:
        raise InputError(f"no sampled messages of model '{model}' between {since} and {until} to draw from")
    pick = np.random.default_rng(seed).permutation(len(samples))[:size]
    chosen = samples.iloc[np.sort(pick)]
    name = f"spot check {model} {since}..{until}" + (f" {source}" if source else "")
    extra = {"monitor": {"model": model, "threshold": float(threshold), "since": since.isoformat(),
                         "until": until.isoformat(), "source": source, "scores": chosen["score"].round(6).tolist()}}
    set_id = store.import_messages(name, chosen["text"].tolist(), source=SOURCE, extra=extra, actor=actor,
                                   scored_by=model)
    members = store.messages(set_id)
    scores = extra["monitor"]["scores"]
    store.store_scores(set_id, model, {int(r.message_id): scores[int(r.position)] for r in members.itertuples()},
                       threshold)
    return set_id


def spot_check_results(store: LabelStore) -> list[dict]:
    """Each spot-check set: its period, how many messages are labeled, and the measured figures."""
    out = []
    for labeling_set in store.sets():
        info = (labeling_set.extra or {}).get("monitor")
        if labeling_set.source != SOURCE or not info:
            continue
        members = store.messages(labeling_set.id)
        score_of = {int(r.message_id): info["scores"][int(r.position)] for r in members.itertuples()}
        labeled = store.labeled_messages(labeling_set.id).frame
        row = {"set_id": labeling_set.id, "name": labeling_set.name, "since": info["since"], "until": info["until"],
               "model": info["model"], "messages": len(members), "labeled": len(labeled)}
        if len(labeled):
            flags = np.array([score_of[int(m)] >= info["threshold"] for m in labeled["message_id"]])
            m = measured(labeled["label"].to_numpy(), flags)
            row |= {"precision": m.precision, "precision_low": m.precision_interval[0],
                    "precision_high": m.precision_interval[1], "recall": m.recall,
                    "recall_low": m.recall_interval[0], "recall_high": m.recall_interval[1], "f1": m.f1,
                    "f1_low": m.f1_interval[0], "f1_high": m.f1_interval[1]}
        out.append(row)
    return out
