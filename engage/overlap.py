"""Whether a labeled file holds messages a version was trained on: its metrics on those rows are optimistic (it has
seen their labels), so the Evaluate page and `engage evaluate` say so above the metrics.

Each version records, at training, the texts its final head learned from (engage.train): the first HASH_DIGITS hex
digits of each distinct text's hash, in a file of the version (checksummed with its other files). Text identity is
the label store's (engage.labels.texts: NFKC, whitespace runs, case folded), so "the same message" means the same
thing as for the label loop. The file is bounded: past MAX_HASHES distinct texts, it keeps the MAX_HASHES smallest
hashes (a bottom-k sample: every text whose hash falls at or under the last one kept is recorded exactly, so the
share is measured on the evaluated rows in that hash range, an unbiased sample of them, and said to be estimated).
A version trained before this was recorded has no such entry: the overlap is then unknown (None), never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engage.errors import InputError
from engage.labels.texts import text_hash
from engage.registry import TEXT_KEY_DIGITS, ModelVersion, check_texts_record

HASH_FILE = "training_texts.txt"
HASH_DIGITS = TEXT_KEY_DIGITS  # 48 bits: a text matches one of 50,000 training texts by chance with p < 2e-10
MAX_HASHES = 50_000        # the file stays under 650 KB whatever the training file's size
SCHEME = f"sha256 of engage.labels.texts.normalize_text, first {HASH_DIGITS} hex digits"
_MIN_JUDGED = 50           # with fewer evaluated rows in a sample's hash range, the share is not estimated


@dataclass(frozen=True)
class Overlap:
    version: str
    rows: int              # evaluated rows with a text
    training: int          # of them, rows whose text the version trained on (estimated when `estimated`)
    same_data: bool        # the evaluated texts and labels are exactly the version's training data
    estimated: bool        # the version kept a sample of its training texts: `training` is rows x the sample's share
    judged: int            # evaluated rows the share was measured on (rows, unless estimated)

    @property
    def share(self) -> float:
        return self.training / self.rows if self.rows else 0.0


def text_keys(texts: Sequence[str]) -> list[str]:
    """The recorded key of every non-empty text (in order; empty texts have none)."""
    return [text_hash(t)[:HASH_DIGITS] for t in texts if t.strip()]


def training_record(texts: Sequence[str]) -> tuple[dict, str]:
    """What a version records of the texts it trained on: the entry of model.json's training_data ("texts") and the
    HASH_FILE contents (one key a line, sorted)."""
    keys = sorted(set(text_keys(texts)))
    kept = keys[:MAX_HASHES]
    entry = {"file": HASH_FILE, "scheme": SCHEME, "distinct": len(keys), "kept": len(kept),
             "up_to": kept[-1] if len(kept) < len(keys) else None}  # None: every distinct text is kept
    return entry, "".join(k + "\n" for k in kept)


def _recorded(version: ModelVersion) -> tuple[dict, frozenset[str]] | None:
    entry = (version.meta.get("training_data") or {}).get("texts")
    if entry is None:
        return None
    if (problem := check_texts_record(entry)) is not None:
        raise InputError(f"model '{version.name}': {problem}", file=str(version.path / "model.json"))
    keys = version.file(entry["file"]).read_text(encoding="ascii").split()
    if len(keys) != entry["kept"]:
        raise InputError(f"model '{version.name}': {entry['file']} holds {len(keys):,} text keys, model.json says "
                         f"{entry['kept']:,}", file=str(version.path / entry["file"]))
    return entry, frozenset(keys)


def training_overlap(version: ModelVersion, texts: Sequence[str], labels: np.ndarray | None = None) -> Overlap | None:
    """How many of these texts `version` trained on; None when the version did not record its training texts."""
    from engage.train import data_fingerprint

    found = _recorded(version)
    if found is None:
        return None
    entry, kept = found
    keys = text_keys(texts)
    up_to = entry["up_to"]
    judged = keys if up_to is None else [k for k in keys if k <= up_to]
    hits = sum(k in kept for k in judged)
    estimated = up_to is not None
    if estimated:
        hits = round(hits / len(judged) * len(keys)) if len(judged) >= _MIN_JUDGED else 0
    same = (labels is not None and len(labels) == len(texts)
            and data_fingerprint(list(texts), np.asarray(labels)) == version.meta["training_data"].get("fingerprint"))
    return Overlap(version.name, len(keys), hits, bool(same), estimated, len(judged))


def overlap_note(overlap: Overlap | None, version: ModelVersion) -> str | None:
    """The sentence shown above the metrics (page and CLI alike), or None when there is nothing to say."""
    if overlap is None:
        return (f"{version.name} did not record the messages it trained on (trained before engage kept them), so "
                "whether this file holds them is not known.")
    if overlap.training == 0:
        return None
    own = (version.meta.get("heldout_metrics") or {})
    said = ""
    if own.get("roc_auc") is not None and own.get("f1") is not None:
        said = (f" Its own {own.get('method', 'validation')} said ROC-AUC {own['roc_auc']:.3f}, "
                f"F1 {own['f1']:.3f}.")
    what = ("This is the file it was trained on (the same texts and labels): "
            if overlap.same_data else "")
    about = "about " if overlap.estimated else ""
    return (f"{what}{about}{overlap.share:.0%} of these messages ({about}{overlap.training:,} of {overlap.rows:,}) "
            f"were training messages of {version.name}: it has seen their labels, so the figures below are "
            f"optimistic. Judge it on messages it did not train on.{said}")
