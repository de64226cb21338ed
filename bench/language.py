"""How often does the non-English note (engage.language) flag an English message? Its false-positive rate on a
hand-labeled sample of the shared tweets.

    .venv/bin/python bench/language.py                       # the heuristic of this checkout
    PYTHONPATH=/path/to/older/checkout .venv/bin/python bench/language.py   # another one, on the same sample

The sample: every row of ../shared/data/complaints/complaints-data.csv (3,449 tweets to brands' support accounts,
the use case; rows named by tweet id) and the first 20,000 lines of ../shared/data/tweets-corpus/
sentiment140-sample.txt (tweets from 2009, some in other languages; rows named by line number). How labeled: every
row that the heuristic before tuning (engage/language.py as of 2026-12-03) or after flagged was read and labeled by
hand, English (1) or not (0), in bench/results/language-labels.csv (references and labels only: the texts stay in
../shared). Code-mixed tweets readable as English ("Sehr nice... Happy shooting!") count as English; romanized
Hindi, Urdu, Nepali, Malay or Indonesian count as not English. Rows neither version flagged were not read: they
count as English, so the denominator of the false-positive rate is every sampled row less the known non-English ones
(a non-English row neither flagged would make the true rate a hair higher, never lower).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
LABELS = ROOT / "bench" / "results" / "language-labels.csv"
SENTIMENT140_LINES = 20_000


def sample() -> list[tuple[str, str, str]]:
    """(source, row, text) of every sampled row."""
    rows = []
    with open(DATA / "complaints" / "complaints-data.csv", encoding="utf-8", newline="") as f:
        rows += [("complaints", r[0], r[1]) for r in csv.reader(f)]
    with open(DATA / "tweets-corpus" / "sentiment140-sample.txt", encoding="utf-8") as f:
        lines = f.read().splitlines()[:SENTIMENT140_LINES]
    rows += [("sentiment140", str(n), t) for n, t in enumerate(lines, 1)]
    return rows


def main() -> int:
    from engage import language

    with open(LABELS, encoding="utf-8", newline="") as f:
        labels = {(r["source"], r["row"]): r["english"] == "1" for r in csv.DictReader(f)}
    rows = sample()
    flagged = [(s, r) for s, r, t in rows if language.looks_non_english(t)]
    unread = [key for key in flagged if key not in labels]
    if unread:
        print(f"{len(unread)} flagged rows are not in {LABELS.name} (label them first): {unread[:10]}")
        return 1
    false_pos = [key for key in flagged if labels[key]]
    non_english = sum(not english for english in labels.values())
    english_rows = len(rows) - non_english
    brand = [key for key in false_pos if key[0] == "complaints"]
    print(f"engage.language from {Path(language.__file__).resolve().parent.parent}")
    print(f"sample: {len(rows):,} rows ({sum(s == 'complaints' for s, _, _ in rows):,} complaints tweets, "
          f"{SENTIMENT140_LINES:,} sentiment140 lines); {non_english} known non-English")
    print(f"flagged {len(flagged)}: {len(flagged) - len(false_pos)} non-English, {len(false_pos)} English "
          f"(false positives: {len(false_pos)} of {english_rows:,} English rows = "
          f"{len(false_pos) / english_rows:.3%}; {len(brand)} of them among the tweets to brands)")
    print(f"non-English rows flagged: {len(flagged) - len(false_pos)} of the {non_english} known")
    print("false positives:", ", ".join(f"{s} row {r}" for s, r in false_pos) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
