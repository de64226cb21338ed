"""Are the explanations faithful, and fast? ERASER's measures (DeYoung et al., ACL 2020) for engage.explain.

    .venv/bin/python bench/explain.py [--data TEST.csv] [--model NAME] [--seeds 3] [--limit N]

For each message, its tokens are ranked by their contribution toward the predicted class (engageable or not, at
the model's threshold), and the top 10 / 20 / 50 % of them (at least one) are
- removed: comprehensiveness = p(predicted | message) - p(predicted | message without them); higher is better;
- kept alone: sufficiency = p(predicted | message) - p(predicted | only them); lower is better;
each beside the same measure for as many random tokens (--seeds random draws per message). Removing a token cuts
it out of the text (engage.explain.without_tokens), so both branches see the message without it.

Then the time of one explanation of a 30-token message (the test file's messages of exactly 30 tokens, no cache),
beside the time of scoring that message once (no cache), in the same run; with the load average and the CPUs this
process may use, as the machine may be shared. Nothing is written to the embedding cache.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

COMPLAINTS = ROOT.parent / "shared" / "data" / "complaints"
FRACTIONS = (0.1, 0.2, 0.5)
TIMED_TOKENS = 30


def faithfulness(clf, texts: list[str], seeds: int) -> dict:
    from engage.explain import explain, without_tokens

    explained = [e for e in explain(clf, texts) if e.tokens]
    full = np.array([e.score for e in explained])
    predicted = full >= clf.threshold
    rows: dict[str, dict[str, list[str]]] = {}
    plan: list[str] = []  # every text to score, in one batch
    for frac in FRACTIONS:
        for kind in ["attribution"] + [f"random{s}" for s in range(seeds)]:
            removed, kept = [], []
            for m, ex in enumerate(explained):
                n = len(ex.tokens)
                k = max(1, int(round(frac * n)))
                if kind == "attribution":
                    toward = ex.contributions if predicted[m] else -ex.contributions
                    top = set(np.argsort(-toward, kind="stable")[:k].tolist())
                else:
                    rng = np.random.default_rng([int(kind[6:]), m, int(frac * 100)])
                    top = set(rng.choice(n, size=k, replace=False).tolist())
                removed.append(without_tokens(ex.text, ex.spans, top))
                kept.append(without_tokens(ex.text, ex.spans, set(range(n)) - top))
            rows[f"{frac}:{kind}"] = {"removed": removed, "kept": kept}
            plan += removed + kept
    scores = iter(clf.score(plan).values)
    p_full = np.where(predicted, full, 1.0 - full)
    out: dict = {"messages": len(explained)}
    for frac in FRACTIONS:
        result = {}
        for kind in ["attribution"] + [f"random{s}" for s in range(seeds)]:
            pair = rows[f"{frac}:{kind}"]
            removed = np.array([next(scores) for _ in pair["removed"]])
            kept = np.array([next(scores) for _ in pair["kept"]])
            p_removed = np.where(predicted, removed, 1.0 - removed)
            p_kept = np.where(predicted, kept, 1.0 - kept)
            result[kind] = (float(np.mean(p_full - p_removed)), float(np.mean(p_full - p_kept)))
        randoms = [result[f"random{s}"] for s in range(seeds)]
        out[f"{int(frac * 100)}%"] = {
            "comprehensiveness": result["attribution"][0],
            "comprehensiveness_random": float(np.mean([r[0] for r in randoms])),
            "comprehensiveness_random_sd": float(np.std([r[0] for r in randoms])),
            "sufficiency": result["attribution"][1],
            "sufficiency_random": float(np.mean([r[1] for r in randoms])),
            "sufficiency_random_sd": float(np.std([r[1] for r in randoms]))}
    return out


def timing(clf, texts: list[str], rounds: int = 3) -> dict:
    from engage.explain import explain
    from engage.tokens import tokenize

    picked = [t for t in texts if len(tokenize(t)) == TIMED_TOKENS]
    explain(clf, picked[:1])
    clf.score(picked[:1])  # warm: tracing, first calls
    explain_ms, score_ms = [], []
    for _ in range(rounds):
        for text in picked:
            start = time.perf_counter()
            explain(clf, [text])
            explain_ms.append(1000 * (time.perf_counter() - start))
            start = time.perf_counter()
            clf.score([text])
            score_ms.append(1000 * (time.perf_counter() - start))
    return {"messages": len(picked), "tokens": TIMED_TOKENS, "runs": len(explain_ms),
            "explain_ms_median": float(np.median(explain_ms)), "explain_ms_min": float(np.min(explain_ms)),
            "score_ms_median": float(np.median(score_ms)),
            "explain_over_score": float(np.median(explain_ms) / np.median(score_ms)),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "cpus_usable": len(os.sched_getaffinity(0)), "cpus_machine": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(COMPLAINTS / "test.csv"))
    parser.add_argument("--model", help="version name (default: the active model)")
    parser.add_argument("--seeds", type=int, default=3, help="random draws per message for the baseline")
    parser.add_argument("--limit", type=int, help="only the first N messages (a quick look)")
    args = parser.parse_args()

    from engage.reading import read_messages
    from engage.scoring import load_classifier

    clf = load_classifier(args.model, use_cache=False)
    texts = read_messages(args.data).texts
    start = time.perf_counter()
    faithful = faithfulness(clf, texts[:args.limit] if args.limit else texts, args.seeds)
    faithful["seconds"] = round(time.perf_counter() - start, 1)
    timed = timing(clf, texts)
    print(f"model {clf.name} on {Path(args.data).name}: {faithful['messages']} messages, "
          f"{args.seeds} random draws per message")
    print(f"{'top':>4}  {'comprehensiveness':>17} {'random':>14} {'ratio':>6}   {'sufficiency':>11} {'random':>14}")
    for frac in FRACTIONS:
        r = faithful[f"{int(frac * 100)}%"]
        base = r["comprehensiveness_random"]
        ratio = r["comprehensiveness"] / base if base else float("inf")
        print(f"{int(frac * 100):>3}%  {r['comprehensiveness']:>17.4f} {r['comprehensiveness_random']:>8.4f} "
              f"±{r['comprehensiveness_random_sd']:.4f} {ratio:>6.2f}   {r['sufficiency']:>11.4f} "
              f"{r['sufficiency_random']:>8.4f} ±{r['sufficiency_random_sd']:.4f}")
    print(f"one explanation of a {TIMED_TOKENS}-token message: {timed['explain_ms_median']:.0f} ms median "
          f"(min {timed['explain_ms_min']:.0f}) over {timed['runs']} runs; scoring it once: "
          f"{timed['score_ms_median']:.0f} ms (x{timed['explain_over_score']:.1f}); load average "
          f"{timed['load_average_1_5_15']} on {timed['cpus_usable']} usable of {timed['cpus_machine']} CPUs")
    print(json.dumps({"model": clf.name, "data": args.data, "faithfulness": faithful, "timing": timed}))


if __name__ == "__main__":
    main()
