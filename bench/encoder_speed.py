"""How fast our biLM encodes messages, and how close it gets to the machine's dense matmul rate.

Messages/s and tokens/s of BilmEncoder.layer_means for the original ELMo architecture (2x4096_512_2048cnn_2xhighway,
random weights of the real shapes) and a small one, on messages of ../shared/data/complaints/train.csv, at several
batch sizes; the machine's float32 matmul rate (2048 x 2048, timed) in the same run; the encoder's achieved FLOP
rate (FLOPs per position from the shapes) as a fraction of it; and where the time goes (char CNN + highway +
projection vs the LSTMs, and within the LSTMs the one big input matmul vs the recurrent loop).

    .venv/bin/python bench/encoder_speed.py --quick          # a few minutes on 2 cores
    .venv/bin/python bench/encoder_speed.py                  # every size, both models (long for the original)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import tensorflow as tf

from engage.encoders.base import length_batches, tf_device
from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.encoder import BilmEncoder
from engage.encoders.bilm.model import parse_options
from engage.encoders.bilm.weights import random_bilm, save_bilm
from engage.tokens import tokenize

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data" / "complaints" / "train.csv"


def _cnn(filters: list[list[int]], n_highway: int) -> dict:
    return {"embedding": {"dim": 16}, "filters": filters, "n_highway": n_highway, "n_characters": 262,
            "max_characters_per_token": 50, "activation": "relu"}


FULL_FILTERS = [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]]
MODELS = {
    # elmo-facts §3: the original ELMo (93.6 M parameters)
    "original": {"lstm": {"dim": 4096, "projection_dim": 512, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
                          "use_skip_connections": True}, "char_cnn": _cnn(FULL_FILTERS, 2)},
    # a small model of the size we pretrain on a CPU
    "small": {"lstm": {"dim": 512, "projection_dim": 128, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
                       "use_skip_connections": True},
              "char_cnn": _cnn([[1, 32], [2, 32], [3, 64], [4, 128], [5, 256]], 1)},
}


def matmul_gflops(n: int = 2048, reps: int = 20) -> float:
    a = tf.random.normal([n, n])
    f = tf.function(lambda x: tf.matmul(x, x))
    f(a).numpy()
    best = float("inf")
    for _ in range(3):  # best of three: other processes share the cores
        start = time.perf_counter()
        for _ in range(reps):
            out = f(a)
        out.numpy()
        best = min(best, time.perf_counter() - start)
    return reps * 2 * n ** 3 / best / 1e9


def encode_speed(folder: str, texts: list[str], batch: int, max_tokens: int, flops: dict[str, int]) -> dict:
    enc = BilmEncoder(folder, max_tokens=max_tokens, batch_tokens=batch * max_tokens, max_batch=batch)
    enc.layer_means(texts[:batch])  # trace and warm up
    start = time.perf_counter()
    enc.layer_means(texts)
    wall = time.perf_counter() - start
    tokens = [tokenize(t)[:max_tokens] for t in texts]
    n_tokens = sum(len(t) for t in tokens)
    # The work actually done, batch by batch as the encoder groups them: the token layer once per distinct
    # token (+ the two markers), the LSTMs on every position of the padded grid.
    token_flops = flops["char_cnn"] + flops["highway_proj"]
    lstm_flops = flops["lstm_input"] + flops["recurrent"]
    work = 0.0
    for group in length_batches([len(t) for t in tokens], batch * max_tokens, batch):
        busy = [tokens[i] for i in group if tokens[i]]
        if busy:
            distinct = len({w.encode("utf-8", "ignore")[:48] for t in busy for w in t}) + 2
            work += distinct * token_flops + len(busy) * (max(len(t) for t in busy) + 2) * lstm_flops
    nominal = (n_tokens + 2 * len(texts)) * (token_flops + lstm_flops)
    return {"batch": batch, "wall_s": wall, "messages_per_s": len(texts) / wall, "tokens_per_s": n_tokens / wall,
            "gflops_done": work / wall / 1e9, "gflops_nominal": nominal / wall / 1e9}


def _best(fn, arg, reps: int) -> float:
    # Reduced inside the graph, so that copying big outputs to numpy is not what gets timed.
    reduced = tf.function(lambda a: [tf.reduce_sum(t) for t in tf.nest.flatten(fn(a)) if t.dtype == tf.float32])
    [t.numpy() for t in reduced(arg)]
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        [t.numpy() for t in reduced(arg)]
        best = min(best, time.perf_counter() - start)
    return best


def profile(bilm, texts: list[str], batch: int, max_tokens: int, reps: int) -> dict:
    """Seconds per batch of mid-length messages: whole model, token layer (char CNN + highway + projection on
    the distinct tokens), LSTMs (both layers, both directions), of which the one big input matmul."""
    sample = sorted(texts, key=lambda t: len(tokenize(t)))
    mid = len(sample) // 2
    tokens = [tokenize(t)[:max_tokens] for t in sample[max(0, mid - batch // 2):][:batch]]
    ids = tf.constant(batch_to_ids(tokens, bilm.opts.max_chars))
    flat = tf.reshape(ids, [-1, bilm.opts.max_chars])
    flat = tf.boolean_mask(flat, tf.reduce_any(flat > 0, axis=1))
    distinct = tf.raw_ops.UniqueV2(x=flat, axis=tf.constant([0], tf.int64))[0]
    p = bilm.opts.projection_dim
    b, t = int(ids.shape[0]), int(ids.shape[1])
    x = tf.random.normal([2, t, b, p])
    mask = tf.ones([t, 1, b, 1], tf.bool)
    zeros = bilm.zero_states(b)

    def lstms(x):
        return [bilm._lstm(k, x, mask, *zeros[k])[0] for k in range(bilm.opts.n_layers)]

    def input_matmuls(x):
        flat_x = tf.reshape(x, [2, -1, p])
        return [tf.matmul(flat_x, w[:, :p, :]) + bb[:, None, :]
                for w, bb in zip(bilm.lstm_w, bilm.lstm_b, strict=True)]

    out = {"whole": _best(bilm._stateless, ids, reps),
           "token_layer": _best(bilm.token_embedding, distinct, reps),
           "lstms": _best(lstms, x, reps),
           "lstm_input_matmul": _best(input_matmuls, x, reps)}
    out["lstm_recurrent_loop"] = out["lstms"] - out["lstm_input_matmul"]
    out["rest"] = out["whole"] - out["token_layer"] - out["lstms"]
    out["batch"], out["grid"], out["distinct_tokens"] = b, b * t, int(distinct.shape[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer messages and sizes (minutes, not an hour)")
    ap.add_argument("--models", default="small,original")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if not DATA.is_file():
        sys.exit(f"data not found: {DATA} (../shared is absent)")
    texts = pd.read_csv(DATA)["text"].fillna("").astype(str).tolist()[: args.messages]
    sizes = {"small": [32, 128, 512], "original": [128]} if args.quick else \
        {name: [32, 64, 128, 256, 512] for name in MODELS}
    if args.quick:
        texts_for = {"small": texts, "original": texts[: min(len(texts), 256)]}
    else:
        texts_for = {name: texts for name in MODELS}

    peak = matmul_gflops()
    device = tf_device()
    print(f"device: {device}; dense matmul 2048x2048 float32: {peak:.1f} GFLOP/s")
    results = {"device": device, "matmul_gflops": peak, "models": {}}
    for name in args.models.split(","):
        options = MODELS[name]
        flops = parse_options(options).flops_per_token()
        per_position = sum(flops.values())
        with tempfile.TemporaryDirectory() as tmp:
            bilm = random_bilm(options, seed=0)
            save_bilm(bilm, tmp, options)
            rows = []
            for batch in sizes[name]:
                row = encode_speed(tmp, texts_for[name], batch, args.max_tokens, flops)
                row["fraction_of_matmul"] = row["gflops_done"] / peak
                rows.append(row)
                print(f"{name:9s} batch {batch:4d}: {row['messages_per_s']:8.1f} messages/s "
                      f"{row['tokens_per_s']:9.0f} tokens/s  {row['gflops_done']:6.1f} GFLOP/s done "
                      f"({100 * row['fraction_of_matmul']:.0f}% of matmul; {row['gflops_nominal']:.1f} GFLOP/s "
                      f"nominal: every token through the char CNN, no padding)", flush=True)
            prof = profile(bilm, texts_for[name], 128, args.max_tokens, reps=3 if args.quick else 5)
        share = {k: v / per_position for k, v in flops.items()}
        print(f"{name:9s} FLOPs per position: {per_position / 1e6:.1f} M "
              f"({', '.join(f'{k} {100 * v:.0f}%' for k, v in share.items())})")
        print(f"{name:9s} time per batch of {prof['batch']} ({prof['grid']} grid positions, "
              f"{prof['distinct_tokens']} distinct tokens): whole {prof['whole'] * 1e3:.0f} ms = token layer "
              f"{prof['token_layer'] * 1e3:.0f} ms + LSTMs {prof['lstms'] * 1e3:.0f} ms (input matmul "
              f"{prof['lstm_input_matmul'] * 1e3:.0f} ms, recurrent loop {prof['lstm_recurrent_loop'] * 1e3:.0f} ms)"
              f" + the rest {prof['rest'] * 1e3:.0f} ms", flush=True)
        results["models"][name] = {"options": options, "flops_per_position": flops, "speed": rows,
                                   "profile": prof}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
