"""Adapting a pretrained biLM to the analyst's own messages: pretraining's forward and backward language-model
training (pretrain.py: same loss, dropout, clipping, batches and exact resume), continued from the encoder's
weights on the texts of the given files (task-adaptive pretraining, Gururangan et al., ACL 2020; the target-task
LM fine-tuning of ULMFiT, Howard and Ruder 2018).

Choices, and why:
- Texts from any file engage reads (labeled or not; the labels are never read), tokenized by engage.tokens, what
  the encoder sees. Exact duplicates are dropped (retweets; and a held-out message must not also be trained on).
  A seeded 10 % is held out for perplexity.
- The softmax. A shipped model carries none (pretraining's is over another corpus's vocabulary), so a new one is
  made over the new texts' words (min count 2, by falling frequency) and initialized at W = the token layer's vector
  of each word (char CNN + highway + projection of its characters: the space the LSTMs read, and what the top
  layer would predict against in a tied model; ours was trained untied, so it is a start, not an answer) and
  b = log unigram frequency (the best bias-only model), the rows scaled to the one length that predicts best
  (raw, the dot products are hundreds: perplexity 1e8). On the shipped model that length is about zero (the
  grid's 0.001: the untied top layer does not predict in the token layer's space), so in practice the start is
  the unigram model and the next step does the work. It is then fitted alone, on the frozen base biLM's top
  layers (a convex problem: multinomial logistic regression), for softmax_epochs. The held-out perplexity after
  that fit is "before": the base model's own best on these texts, so that before minus after is what adapting the
  biLM bought, not what fitting a softmax bought.
- Then every weight trains. Adagrad starts afresh (the base run's accumulators are not shipped) at lr 0.05, a
  quarter of pretraining's: fresh accumulators make the first steps the largest, and a small set overfits fast.
- Early stop: held-out perplexity every eval_every steps (default twice an epoch); weights.hdf5 holds the best
  weights seen so far at any time, step 0 (the base biLM) included, so an adaptation that never helps hands back
  the base weights; training stops after `patience` evaluations without a gain. The best perplexity, its step and
  the count of evaluations without gain live in the checkpoint, so a resumed run stops where the whole one would.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from engage.encoders.base import length_batches
from engage.encoders.bilm.chars import BOS_CHAR, EOS_CHAR, _marker_row, token_to_ids
from engage.encoders.bilm.model import BiLM
from engage.encoders.bilm.pretrain import (
    BOS,
    CHECKPOINT_DIR,
    EOS,
    EVAL_BATCH_TOKENS,
    VOCAB_FILE,
    SoftmaxHead,
    Trainer,
    Vocabulary,
    heldout_perplexity,
    pad_batch,
    softmax_name,
    split_messages,
    steps_per_epoch,
    train_loop,
)
from engage.encoders.bilm.weights import OPTIONS_FILE, WEIGHTS_FILE, load_bilm, read_options, save_weights_hdf5
from engage.errors import InputError
from engage.registry import sha256_file

SUMMARY_FILE = "adapt.json"
CARD_FILE = "README.md"
SOFTMAX_BATCH = 1024  # positions per step of the softmax fit
SOFTMAX_LR = 0.01
SOFTMAX_MIN_STEPS = 50  # per epoch
# Bounds on the work outside the time limit, whatever the corpus size: the softmax is fitted on the frozen biLM's
# vectors of at most this many training messages (all of them held in memory), and perplexity is measured on at
# most this many held-out messages (each check re-encodes them all).
SOFTMAX_FIT_MESSAGES = 5_000
MAX_HELDOUT_MESSAGES = 2_000


@dataclass
class SourceFile:
    """One adaptation file as the model card states it."""

    file: str
    sha256: str
    rows: int
    messages: int  # non-empty texts


def read_texts(paths: Sequence[str | Path], text_col: str | None = None) -> tuple[list[str], list[SourceFile]]:
    """Every non-empty text of the files (in chunks, any supported format), duplicates after the first dropped."""
    from engage.reading import iter_messages

    if not paths:
        raise InputError("adaptation needs at least one file of messages")
    texts: list[str] = []
    seen: set[str] = set()
    sources = []
    for path in paths:
        rows = kept = 0
        for chunk in iter_messages(path, text_col=text_col, detect_labels=False):
            rows += len(chunk.texts)
            for text in chunk.texts:
                if text:
                    kept += 1
                    if text not in seen:
                        seen.add(text)
                        texts.append(text)
        sources.append(SourceFile(Path(path).name, sha256_file(Path(path)), rows, kept))
    if not texts:
        raise InputError("the files have no message text to adapt on", file=", ".join(str(p) for p in paths))
    return texts, sources


# ------------------------------------------------------------------ the softmax


def token_layer_init(bilm: BiLM, vocab: Vocabulary, counts: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
    """W [V, P]: each word's token-layer vector, scaled to unit length (the length is set by fit_scale; the
    sentence markers' rows are the markers' own vectors); b [V]: log unigram frequency (add-one, so a word the
    split never counted still gets a finite bias)."""
    width = bilm.opts.max_chars
    rows = []
    for word in vocab.words:
        if word == BOS:
            rows.append(_marker_row(BOS_CHAR, width))
        elif word == EOS:
            rows.append(_marker_row(EOS_CHAR, width))
        else:
            rows.append(token_to_ids(word, width))
    ids = np.stack(rows).astype(np.int32)
    w = np.concatenate([bilm.token_embedding(tf.constant(ids[i:i + 4096])).numpy()
                        for i in range(0, len(ids), 4096)])
    w /= np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-6)
    n = np.array([counts.get(word, 0) + 1.0 for word in vocab.words])
    return w.astype(np.float32), np.log(n / n.sum()).astype(np.float32)


def top_vectors(trainer: Trainer, sentences: Sequence[Sequence[str]],
                vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The frozen biLM's top-layer vectors of every prediction (both directions) and their target ids."""
    xs, ts = [], []
    vectors = tf.function(trainer.top_vectors, input_signature=trainer.eval_step.input_signature, autograph=False)
    for batch in length_batches([len(s) + 2 for s in sentences], EVAL_BATCH_TOKENS, max_batch=EVAL_BATCH_TOKENS):
        x, t = vectors(*pad_batch([sentences[i] for i in batch], vocab))
        xs.append(x.numpy())
        ts.append(t.numpy())
    return np.concatenate(xs), np.concatenate(ts)


def _mean_loss(x: np.ndarray, t: np.ndarray, w: np.ndarray, b: np.ndarray) -> float:
    total = 0.0
    for i in range(0, len(t), EVAL_BATCH_TOKENS):
        logits = tf.matmul(x[i:i + EVAL_BATCH_TOKENS], w, transpose_b=True) + b
        total += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(t[i:i + EVAL_BATCH_TOKENS],
                                                                                    logits)))
    return total / len(t)


def fit_scale(x: np.ndarray, t: np.ndarray, w: np.ndarray, b: np.ndarray, seed: int) -> float:
    """The one length of the unit token-layer rows that predicts best (grid: 0, 1e-3 .. 10, on up to 20,000
    positions): without it the raw dot products are hundreds and the softmax starts absurdly sure."""
    pick = np.random.default_rng(seed + 3).permutation(len(t))[:20_000]
    losses = {float(s): _mean_loss(x[pick], t[pick], s * w, b) for s in [0.0, *np.logspace(-3, 1, 13)]}
    return min(losses, key=losses.get)


def fit_softmax(head: SoftmaxHead, x_all: np.ndarray, t_all: np.ndarray, epochs: int, seed: int) -> None:
    """The softmax alone on fixed features (the frozen biLM's top layers): Adam on the exact loss."""
    optimizer = keras.optimizers.Adam(learning_rate=SOFTMAX_LR)

    @tf.function(autograph=False)
    def step(x, t):
        with tf.GradientTape() as tape:
            logits = tf.matmul(x, head.w, transpose_b=True) + head.b
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(t, logits))
        grads = tape.gradient(loss, [head.w, head.b])
        optimizer.apply_gradients(zip(grads, [head.w, head.b], strict=True))
        return loss

    rng = np.random.default_rng(seed + 2)
    size = max(1, min(SOFTMAX_BATCH, len(t_all) // SOFTMAX_MIN_STEPS))  # a small set still gets enough steps
    for _ in range(epochs):
        order = rng.permutation(len(t_all))
        for i in range(0, len(order), size):
            part = order[i:i + size]
            step(tf.constant(x_all[part]), tf.constant(t_all[part]))


# ------------------------------------------------------------------ the run


def adapt(files: Sequence[str | Path], encoder_dir: str | Path, out_dir: str | Path, *,
          text_col: str | None = None, **settings: Any) -> dict[str, Any]:
    """adapt_texts on every message of the files (any format engage reads; text column detected or text_col)."""
    texts, sources = read_texts(files, text_col)
    return adapt_texts(texts, sources, encoder_dir, out_dir, **settings)


def texts_source(name: str, texts: Sequence[str]) -> SourceFile:
    """Messages that are not one file (the app's labeling set and added file), as the model card states them:
    sha256 over the texts, each ended by a newline."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return SourceFile(name, digest.hexdigest(), len(texts), sum(1 for t in texts if t.strip()))


def adapt_texts(texts: Sequence[str], sources: Sequence[SourceFile], encoder_dir: str | Path,
                out_dir: str | Path, *, epochs: float = 10.0, batch_size: int = 32, max_tokens: int = 40,
                heldout_fraction: float = 0.1, min_count: int = 2, max_vocab: int = 20_000, n_negative: int = 1024,
                softmax_epochs: int = 5, eval_every: int | None = None, patience: int = 3, seed: int = 0,
                resume: bool = True, time_limit_s: float | None = None, dropout: float = 0.1,
                learning_rate: float = 0.05, clip_norm: float = 10.0, log: Callable[[str], None] = print,
                progress: Callable[[int, int, float], None] | None = None,
                keep_checkpoints: bool = True) -> dict[str, Any]:
    """Continue the LM training of the biLM in encoder_dir on the texts (sources: what the model card lists);
    write out_dir/{options.json, weights.hdf5 (the best held-out perplexity's), README.md (model card), adapt.json,
    vocab.txt, checkpoints/}.

    progress(step, total_steps, elapsed_s) is called after every step. Returns the adapt.json summary.
    """
    started = time.monotonic()
    encoder_dir, out = Path(encoder_dir), Path(out_dir)
    _check(epochs, batch_size, max_tokens, heldout_fraction, min_count, max_vocab, softmax_epochs, eval_every,
           patience, dropout)
    if out.resolve() == encoder_dir.resolve():
        raise InputError("adapt: --out must be a new folder, not the encoder's own", file=str(out))
    options = read_options(encoder_dir / OPTIONS_FILE)
    bilm = load_bilm(encoder_dir)
    texts = list(dict.fromkeys(t for t in texts if t.strip()))  # read_texts has done this; other callers may not
    if not texts:
        raise InputError("there is no message text to adapt on")
    rng = np.random.default_rng(seed)
    n_held = min(int(round(heldout_fraction * len(texts))), MAX_HELDOUT_MESSAGES)
    held = set(rng.permutation(len(texts))[:n_held].tolist())
    train = split_messages([x for i, x in enumerate(texts) if i not in held], max_tokens)
    heldout = split_messages([x for i, x in enumerate(texts) if i in held], max_tokens)
    if not train:
        raise InputError("the messages have no tokens to adapt on", file=", ".join(x.file for x in sources))

    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / CHECKPOINT_DIR
    resuming = resume and tf.train.latest_checkpoint(str(ckpt_dir)) is not None and (out / VOCAB_FILE).is_file()
    counts = Counter(t for s in train for t in s)
    if resuming:
        vocab = Vocabulary.read(out / VOCAB_FILE)
    else:
        built = Vocabulary.build(train, min_count)
        vocab = Vocabulary(built.words[:3 + max_vocab])
    vocab.write(out / VOCAB_FILE)
    (out / OPTIONS_FILE).write_text(json.dumps(options, indent=1), encoding="utf-8")

    tf.random.set_seed(seed)
    head = SoftmaxHead(len(vocab.words), bilm.opts.projection_dim, seed)
    trainer = Trainer(bilm, head, len(vocab.words), n_negative, dropout, learning_rate, clip_norm)
    state = {name: tf.Variable(value, name=name) for name, value in
             (("step", tf.constant(0, tf.int64)), ("tokens_seen", tf.constant(0, tf.int64)),
              ("before", tf.constant(0.0, tf.float64)), ("best", tf.constant(math.inf, tf.float64)),
              ("best_step", tf.constant(0, tf.int64)), ("stale", tf.constant(0, tf.int64)),
              ("softmax_init", tf.constant(0.0, tf.float64)))}
    ckpt = tf.train.Checkpoint(bilm=bilm, head=head, optimizer=trainer.optimizer, **state)
    manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=2)
    step = state["step"]
    if resuming:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log(f"resumed from {manager.latest_checkpoint} at step {int(step)}")
    else:
        if manager.latest_checkpoint:
            log(f"resume=False: starting over (existing checkpoints in {ckpt_dir} will be replaced)")
        _start(trainer, train, heldout, vocab, counts, softmax_epochs, seed, state, out, log)
        manager.save(checkpoint_number=0)

    lengths = np.array([len(s) for s in train])
    per_epoch = steps_per_epoch(lengths, batch_size, seed)
    total_steps = max(1, int(math.ceil(epochs * per_epoch)))
    every = eval_every or max(1, per_epoch // 2)
    if int(state["stale"]) >= patience:  # a finished early-stopped run, called again: nothing left to do
        total_steps = int(step)
    log(f"adapting {encoder_dir}: {len(train)} training and {len(heldout)} held-out messages, vocabulary "
        f"{len(vocab.words)}, {total_steps} steps of {batch_size} ({per_epoch} per epoch), held-out perplexity "
        f"every {every} steps, stop after {patience} without a gain, {softmax_name(trainer)}")

    def after_step() -> bool:
        done = int(step)
        if progress is not None:
            progress(done, total_steps, time.monotonic() - started)
        if done % every and done != total_steps:
            return False
        return _evaluate(trainer, heldout, vocab, state, patience, out, manager, log)

    status = train_loop(trainer, train, vocab, lengths, batch_size, seed, step, state["tokens_seen"], total_steps,
                        manager, started, time_limit_s, log, after_step)
    manager.save(checkpoint_number=int(step))
    summary = _summary(state, status, total_steps, per_epoch, started, vocab, train, heldout, sources, softmax_name(
        trainer), encoder_dir, out, {
        "epochs": epochs, "batch_size": batch_size, "max_tokens": max_tokens, "heldout_fraction": heldout_fraction,
        "min_count": min_count, "max_vocab": max_vocab, "n_negative": n_negative, "softmax_epochs": softmax_epochs,
        "eval_every": every, "patience": patience, "seed": seed, "dropout": dropout, "learning_rate": learning_rate,
        "clip_norm": clip_norm})
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (out / CARD_FILE).write_text(model_card(summary), encoding="utf-8")
    if not keep_checkpoints:  # 4x the weights' size; the app never resumes (a new folder per version)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    log(f"done: held-out perplexity {summary['heldout_perplexity_before']:.1f} before, "
        f"{summary['heldout_perplexity_after']:.1f} after (best at step {summary['best_step']}), "
        f"{summary['wall_time_s']:.0f} s; wrote {out}")
    return summary


def _start(trainer: Trainer, train: list[list[str]], heldout: list[list[str]], vocab: Vocabulary,
           counts: Counter[str], softmax_epochs: int, seed: int, state: dict[str, tf.Variable], out: Path,
           log: Callable[[str], None]) -> None:
    """The softmax, initialized then fitted on the frozen base biLM; its held-out perplexity is "before"."""
    w, b = token_layer_init(trainer.bilm, vocab, counts)
    if len(train) > SOFTMAX_FIT_MESSAGES:
        pick = np.random.default_rng(seed).choice(len(train), SOFTMAX_FIT_MESSAGES, replace=False)
        train = [train[i] for i in sorted(pick)]
    x, t = top_vectors(trainer, train, vocab)
    scale = fit_scale(x, t, w, b, seed)
    trainer.head.w.assign(scale * w)
    trainer.head.b.assign(b)
    evaluated = train if not heldout else heldout
    initial = heldout_perplexity(trainer, evaluated, vocab)
    log(f"softmax from the token layer (rows of length {scale:.3g}) and log unigram frequencies: held-out "
        f"perplexity {initial:.1f}; fitting it on the frozen base biLM ({softmax_epochs} epochs)")
    fit_softmax(trainer.head, x, t, softmax_epochs, seed)
    before = heldout_perplexity(trainer, evaluated, vocab)
    log(f"before adaptation (base biLM, fitted softmax): held-out perplexity {before:.1f} "
        f"(uniform {len(vocab.words)})")
    state["softmax_init"].assign(initial)
    state["before"].assign(before)
    state["best"].assign(before)
    save_weights_hdf5(trainer.bilm, out / WEIGHTS_FILE)  # the base weights are the best until beaten


def _evaluate(trainer: Trainer, heldout: list[list[str]], vocab: Vocabulary, state: dict[str, tf.Variable],
              patience: int, out: Path, manager: tf.train.CheckpointManager, log: Callable[[str], None]) -> bool:
    """Held-out perplexity now; the weights file follows the best; True when patience has run out."""
    if not heldout:
        save_weights_hdf5(trainer.bilm, out / WEIGHTS_FILE)  # nothing to judge by: the latest is all there is
        return False
    ppl = heldout_perplexity(trainer, heldout, vocab)
    step = int(state["step"])
    if ppl < float(state["best"]):
        state["best"].assign(ppl)
        state["best_step"].assign(step)
        state["stale"].assign(0)
        save_weights_hdf5(trainer.bilm, out / WEIGHTS_FILE)
        mark = " (best so far: saved)"
    else:
        state["stale"].assign_add(1)
        mark = f" (best {float(state['best']):.1f} at step {int(state['best_step'])})"
    log(f"step {step}: held-out perplexity {ppl:.1f}{mark}")
    manager.save(checkpoint_number=step)
    if int(state["stale"]) >= patience:
        log(f"early stop: {patience} evaluations without a gain; keeping step {int(state['best_step'])}")
        return True
    return False


def _summary(state: dict[str, tf.Variable], status: dict[str, Any], total_steps: int, per_epoch: int,
             started: float, vocab: Vocabulary, train: list, heldout: list, sources: list[SourceFile],
             softmax: str, encoder_dir: Path, out: Path, settings: dict[str, Any]) -> dict[str, Any]:
    base_card = encoder_dir / CARD_FILE
    return {
        "base_encoder": str(encoder_dir),
        "base_weights_sha256": sha256_file(encoder_dir / WEIGHTS_FILE),
        "base_title": base_card.read_text(encoding="utf-8").split("\n", 1)[0].lstrip("# ").strip()
        if base_card.is_file() else None,
        "data": [asdict(s) for s in sources],
        "n_train_messages": len(train),
        "n_heldout_messages": len(heldout),
        "vocab_size": len(vocab.words),
        "softmax": softmax,
        "heldout_perplexity_softmax_init": float(state["softmax_init"]),
        "heldout_perplexity_before": float(state["before"]),
        "heldout_perplexity_after": float(state["best"]),
        "best_step": int(state["best_step"]),
        "steps": int(state["step"]),
        "total_steps": total_steps,
        "epochs_done": int(state["step"]) / per_epoch,
        "tokens": int(state["tokens_seen"]),
        "train_loss": status["loss"],
        "stopped_early": status["stopped"],
        "stopped_by_time_limit": status["timed_out"],
        "wall_time_s": time.monotonic() - started,
        "settings": settings,
        "paths": {name: str(out / name) for name in (OPTIONS_FILE, WEIGHTS_FILE, CARD_FILE, SUMMARY_FILE)},
    }


def adaptation_record(handle: str) -> dict[str, Any] | None:
    """What a classifier's model.json records of an adapted encoder (None for any other encoder): the base model,
    the adaptation files (name, rows, sha256) and the held-out perplexities."""
    path = Path(handle) / SUMMARY_FILE if "://" not in handle else None
    if path is None or not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        return {key: summary[key] for key in ("base_encoder", "base_weights_sha256", "data",
                                               "heldout_perplexity_before", "heldout_perplexity_after",
                                               "best_step", "steps", "wall_time_s")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"adapt.json: unreadable ({exc!r})", file=str(path)) from None


def model_card(summary: dict[str, Any]) -> str:
    """README.md of the adapted encoder: what it started from, what it read, what it bought."""
    base = summary["base_encoder"]
    title = f" ({summary['base_title']})" if summary.get("base_title") else ""
    rows = "\n".join(f"| `{d['file']}` | {d['rows']:,} | {d['messages']:,} | `{d['sha256']}` |"
                     for d in summary["data"])
    s = summary["settings"]
    why = ("early stop: no gain on the held-out messages" if summary["stopped_early"] else
           "time limit" if summary["stopped_by_time_limit"] else "all epochs done")
    kept = ("the base model's weights (adaptation never lowered the held-out perplexity)" if summary["best_step"] == 0
            else f"the weights of step {summary['best_step']:,}, the lowest held-out perplexity")
    return f"""# Adapted ELMo: `{base}`{title}, adapted to {len(summary['data'])} file(s) of messages

Made by `engage adapt`: the base biLM's forward and backward language-model training, continued on the texts
below. Files: `options.json` + `weights.hdf5` in the official AllenNLP/bilm-tf layout (use it as any ELMo:
`engage train DATA --encoder THIS_FOLDER`), `adapt.json` (the run's summary), `vocab.txt` + `checkpoints/` when
kept (the adaptation's softmax vocabulary and state, for resuming; not needed to encode).

## Base model
- `{base}`, weights.hdf5 sha256 `{summary['base_weights_sha256']}`.

## Adaptation data
| file | rows | non-empty messages | sha256 |
|---|---|---|---|
{rows}

After dropping duplicate texts: {summary['n_train_messages']:,} messages trained on,
{summary['n_heldout_messages']:,} held out ({100 * s['heldout_fraction']:.0f} %, seed {s['seed']}) for perplexity;
messages cut to {s['max_tokens']} tokens.

## Training
- Softmax over the data's words (min count {s['min_count']}: {summary['vocab_size']:,} words, {summary['softmax']}),
  initialized from the token layer's vectors and log unigram frequencies, then fitted on the frozen base biLM
  ({s['softmax_epochs']} epochs).
- Then every weight: Adagrad lr {s['learning_rate']}, clip {s['clip_norm']}, dropout {s['dropout']}, batch
  {s['batch_size']}; held-out perplexity every {s['eval_every']} steps, stop after {s['patience']} without a gain.
- {summary['steps']:,} of {summary['total_steps']:,} steps ({summary['epochs_done']:.2f} epochs, {summary['tokens']:,}
  tokens), {summary['wall_time_s'] / 60:.1f} min; stopped by: {why}. Kept: {kept}.

## Held-out perplexity (exact softmax, both directions)
- base biLM with the fitted softmax (before): **{summary['heldout_perplexity_before']:.1f}**
- adapted (after): **{summary['heldout_perplexity_after']:.1f}**
- (the softmax's initialization alone: {summary['heldout_perplexity_softmax_init']:.1f}; uniform:
  {summary['vocab_size']:,})

## Limits
Everything the base model's card says, plus: these messages are all the model saw here; a lower perplexity on
them does not by itself mean better classification (measure it: `engage train --encoder` on both encoders).
"""


def _check(epochs: float, batch_size: int, max_tokens: int, heldout_fraction: float, min_count: int,
           max_vocab: int, softmax_epochs: int, eval_every: int | None, patience: int, dropout: float) -> None:
    problems = []
    if not epochs > 0:
        problems.append(f"epochs must be > 0 (got {epochs})")
    if min(batch_size, max_tokens, min_count, max_vocab, patience) < 1 or softmax_epochs < 0:
        problems.append("batch_size, max_tokens, min_count, max_vocab and patience must be at least 1, "
                        "softmax_epochs at least 0")
    if eval_every is not None and eval_every < 1:
        problems.append(f"eval_every must be at least 1 (got {eval_every})")
    if not 0.0 <= heldout_fraction < 1.0:
        problems.append(f"heldout_fraction must be in [0, 1) (got {heldout_fraction})")
    if not 0.0 <= dropout < 1.0:
        problems.append(f"dropout must be in [0, 1) (got {dropout})")
    if problems:
        raise InputError("adapt: " + "; ".join(problems))
