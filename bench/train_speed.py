"""Training speed on the complaints train split: cold (encoder runs), warm (embedding cache), per epoch.

    .venv/bin/python bench/train_speed.py [--encoder HANDLE] [--epochs 5]

The encoder defaults to the shipped ELMo (models/elmo-tweets) when present, else a generated ELMo-shaped TF Hub
fixture with D = 1024 (so the head costs what it costs on the real ELMo; the cold time then says little).
The seed notebook needed 2,545 s per epoch (ELMo ran again on every step).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED_SECONDS_PER_EPOCH = 2545.0
TRAIN = ROOT.parent / "shared" / "data" / "complaints" / "train.csv"
SHIPPED_ELMO = ROOT / "models" / "elmo-tweets"


def default_encoder(workdir: Path) -> str:
    if SHIPPED_ELMO.is_dir():
        return str(SHIPPED_ELMO)
    from tests.fixtures.hub_fixtures import make_tf2_fixture

    return str(make_tf2_fixture(workdir / "fixture-elmo", dim=1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lexical", action="store_true")
    args = parser.parse_args()

    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.reading import read_messages
    from engage.train import train_model

    work = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    handle = args.encoder or default_encoder(work)
    messages = read_messages(TRAIN, label_col="engage")
    config = HeadConfig(epochs=args.epochs, lexical=args.lexical)
    cache = EmbeddingCache(work / "cache")
    runs = []
    for label in ("cold", "warm"):
        encoder = load_encoder(handle)
        start = time.perf_counter()
        result = train_model(messages, encoder, config, name=f"bench-{label}", cache=cache, root=work / "models")
        runs.append((label, time.perf_counter() - start, result))
    print(f"encoder: {handle} ({encoder.kind}, D={encoder.dim}, {encoder.device})")
    print(f"data: {TRAIN.name}, {len(messages.texts)} messages, {args.epochs} epochs, CPU cores: {os.cpu_count()}")
    print(f"{'run':<6} {'total s':>9} {'encode s':>9} {'fit s':>8} {'s/epoch':>8} {'encoder computed':>17}")
    for label, total, r in runs:
        print(f"{label:<6} {total:>9.2f} {r.seconds['encode']:>9.2f} {r.seconds['fit']:>8.2f} "
              f"{r.seconds['fit'] / args.epochs:>8.3f} {r.n_computed:>17}")
    warm_epoch = runs[1][2].seconds["fit"] / args.epochs
    print(f"seed notebook: {SEED_SECONDS_PER_EPOCH:.0f} s/epoch -> warm is {SEED_SECONDS_PER_EPOCH / warm_epoch:,.0f}x "
          f"faster per epoch; warm training of {args.epochs} epochs: {runs[1][1]:.2f} s (goal < 5 s)")


if __name__ == "__main__":
    main()
