"""A second labeled task from the complaints data, for checking that nothing is tuned to the fixed split: train on
some domains, test on the others (messages about brands the model never saw).

    .venv/bin/python bench/domain_split.py OUT_DIR [--test-domains food transport ...]
    .venv/bin/python bench/quality.py --train OUT_DIR/train.csv --test OUT_DIR/test.csv --retrain

Writes OUT_DIR/train.csv and OUT_DIR/test.csv (keep OUT_DIR outside the project: the data is not ours to ship).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

COMPLAINTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "complaints"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--test-domains", nargs="+", help="default: every other domain, by size")
    args = parser.parse_args()
    data = pd.concat([pd.read_csv(COMPLAINTS / f, dtype=str) for f in ("train.csv", "test.csv")])
    domains = data["domain"].value_counts().index.tolist()
    test_domains = args.test_domains or domains[1::2]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    is_test = data["domain"].isin(test_domains)
    data[~is_test].to_csv(out / "train.csv", index=False)
    data[is_test].to_csv(out / "test.csv", index=False)
    print(f"test domains: {', '.join(test_domains)}; train {int((~is_test).sum())} rows, test {int(is_test.sum())}")


if __name__ == "__main__":
    main()
