"""Pretraining the biLM as a language model: the forward top layer predicts the next token, the backward top layer
the previous one (softmax weights shared by both directions, as the original).

Choices, and why:
- Whole messages (up to max_tokens; longer ones are cut into max_tokens pieces), each from a zero state, wrapped
  in <S> ... </S>. The encoder runs exactly so (stateless, one message at a time), and tweets are short, so
  back-propagating through a whole message costs little; the original's stateful unroll-20 windows over a
  running text fit news sentences, not independent messages.
- Batches of similar length (shuffled within large chunks), to keep padding low.
- Sampled softmax with log-uniform (Zipfian) negatives over a frequency-sorted vocabulary, as the original; the
  negatives are drawn from a stateless generator seeded by the step, so a fixed seed gives identical weights and
  a resumed run draws what the uninterrupted run would have. Full softmax when the vocabulary is small.
- Adagrad lr 0.2 (accumulators start at 1.0), gradient clip norm 10, dropout 0.1 on every LSTM input and on the
  top layer: the original's settings.
- Held-out perplexity is exact (full softmax), averaged over both directions, on a seeded held-out split.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from engage.encoders.base import length_batches
from engage.encoders.bilm.chars import N_CHARACTERS, tf_batch_to_ids
from engage.encoders.bilm.model import BiLM
from engage.encoders.bilm.weights import OPTIONS_FILE, WEIGHTS_FILE, read_options, save_weights_hdf5
from engage.errors import InputError
from engage.tokens import tokenize

BOS, EOS, UNK = "<S>", "</S>", "<UNK>"
VOCAB_FILE = "vocab.txt"
SUMMARY_FILE = "pretrain.json"
CHECKPOINT_DIR = "checkpoints"
FULL_SOFTMAX_MAX_VOCAB = 10_000  # below this, the exact softmax is cheap enough and better
EVAL_BATCH_TOKENS = 1024  # logits are [tokens, vocabulary]: keep them a few hundred MB at most
LOG_EVERY_S = 30.0
CHECKPOINT_EVERY_S = 600.0


# ------------------------------------------------------------------ data

def read_corpus(paths: Sequence[str | Path], max_sentences: int | None = None) -> list[str]:
    """Text files, one message per line (blank lines skipped); UTF-8 with undecodable bytes replaced."""
    if not paths:
        raise InputError("pretraining needs at least one corpus file")
    lines: list[str] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError("corpus file not found", file=str(path))
        with open(path, encoding="utf-8", errors="replace") as fin:
            for line in fin:
                if line.strip():
                    lines.append(line.strip())
                    if max_sentences is not None and len(lines) >= max_sentences:
                        return lines
    if not lines:
        raise InputError("the corpus has no text", file=", ".join(str(p) for p in paths))
    return lines


def split_messages(lines: Sequence[str], max_tokens: int) -> list[list[str]]:
    """Tokenized messages; a message longer than max_tokens becomes several pieces."""
    out = []
    for line in lines:
        tokens = tokenize(line)
        out.extend(tokens[i:i + max_tokens] for i in range(0, len(tokens), max_tokens))
    return out


@dataclass
class Vocabulary:
    words: list[str]  # <S>, </S>, <UNK>, then by falling frequency (the sampler relies on this order)

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, sentences: Sequence[Sequence[str]], min_count: int) -> Vocabulary:
        counts = Counter(t for s in sentences for t in s)
        kept = sorted((w for w, n in counts.items() if n >= min_count and w not in (BOS, EOS, UNK)),
                      key=lambda w: (-counts[w], w))
        return cls([BOS, EOS, UNK, *kept])

    @classmethod
    def read(cls, path: Path) -> Vocabulary:
        return cls(path.read_text(encoding="utf-8").split("\n")[:-1])

    def write(self, path: Path) -> None:
        path.write_text("".join(w + "\n" for w in self.words), encoding="utf-8")

    def ids(self, sentence: Sequence[str]) -> list[int]:
        unk = self.index[UNK]
        return [self.index[BOS], *(self.index.get(t, unk) for t in sentence), self.index[EOS]]


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch: shuffle, sort by length within chunks of 50 batches, cut, shuffle the batches."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _schedule(lengths: np.ndarray, batch_size: int, seed: int, start: int) -> Iterator[np.ndarray]:
    """Batches from global step `start` on, epoch after epoch (each epoch shuffled from seed + epoch)."""
    n = len(_batches(lengths, batch_size, np.random.default_rng(seed)))
    epoch, skip = divmod(start, n)
    while True:
        yield from _batches(lengths, batch_size, np.random.default_rng(seed + epoch))[skip:]
        epoch, skip = epoch + 1, 0


def pad_batch(sentences: Sequence[Sequence[str]], vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tokens (bytes [B, T], padded with b""), lengths [B], word ids with markers [B, T + 2] (0 past the end)."""
    longest = max(len(s) for s in sentences)
    tokens = np.full((len(sentences), longest), b"", dtype=object)
    ids = np.zeros((len(sentences), longest + 2), dtype=np.int32)
    for b, s in enumerate(sentences):
        tokens[b, :len(s)] = [t.encode("utf-8") for t in s]
        ids[b, :len(s) + 2] = vocab.ids(s)
    return tokens, np.array([len(s) for s in sentences], np.int32), ids


# ------------------------------------------------------------------ model pieces

class SoftmaxHead(tf.Module):
    """Output word embeddings and biases, shared by the forward and the backward direction."""

    def __init__(self, n_words: int, dim: int, seed: int) -> None:
        super().__init__(name="softmax")
        rng = np.random.default_rng(seed + 1)
        self.w = tf.Variable(rng.normal(0.0, 1.0 / math.sqrt(dim), (n_words, dim)).astype(np.float32), name="W")
        self.b = tf.Variable(np.zeros(n_words, np.float32), name="b")


def _log_uniform_samples(n: int, n_words: int, seed: tf.Tensor) -> tf.Tensor:
    """n word ids from P(k) = log((k + 2) / (k + 1)) / log(V + 1), with replacement, from a stateless seed."""
    u = tf.random.stateless_uniform([n], seed=seed, dtype=tf.float64)
    k = tf.cast(tf.floor(tf.exp(u * math.log(n_words + 1))), tf.int64) - 1
    return tf.clip_by_value(k, 0, n_words - 1)


def _log_uniform_expected(ids: tf.Tensor, n: int, n_words: int) -> tf.Tensor:
    k = tf.cast(ids, tf.float64)
    p = tf.math.log((k + 2.0) / (k + 1.0)) / math.log(n_words + 1)
    return tf.cast(p * n, tf.float32)


class Trainer(tf.Module):
    """The training step and the held-out loss, compiled once per run."""

    def __init__(self, bilm: BiLM, head: SoftmaxHead, n_words: int, n_negative: int, dropout: float,
                 learning_rate: float, clip_norm: float) -> None:
        super().__init__(name="trainer")
        self.bilm, self.head = bilm, head
        self.n_words, self.dropout, self.clip_norm = n_words, dropout, clip_norm
        self.n_negative = n_negative if n_words > FULL_SOFTMAX_MAX_VOCAB and n_negative < n_words else 0
        self.optimizer = keras.optimizers.Adagrad(learning_rate=learning_rate, initial_accumulator_value=1.0)
        self.variables_to_train = [*bilm.trainable_variables, head.w, head.b]
        self.optimizer.build(self.variables_to_train)  # slots exist before a checkpoint is restored
        spec = [tf.TensorSpec([None, None], tf.string), tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None, None], tf.int32)]
        self.train_step = tf.function(self._train_step, input_signature=[*spec, tf.TensorSpec([2], tf.int32)],
                                      autograph=False)
        self.eval_step = tf.function(self._eval_step, input_signature=spec, autograph=False)

    def _targets(self, tokens, lengths, word_ids, dropout, seed):
        """Top-layer vectors with their target word ids, flattened over the real positions, per direction."""
        lm = self.bilm.lm_outputs(tf_batch_to_ids(tokens, lengths, self.bilm.opts.max_chars), dropout, seed)
        valid = tf.sequence_mask(lengths + 1, tf.shape(word_ids)[1] - 1)  # position t predicts t +- 1
        pairs = []
        for k, (outputs, targets) in enumerate([(lm["forward"][:, :-1], word_ids[:, 1:]),
                                                (lm["backward"][:, 1:], word_ids[:, :-1])]):
            x = tf.boolean_mask(outputs, valid)
            if dropout > 0.0:
                x = tf.nn.experimental.stateless_dropout(x, dropout, seed=seed + 104729 * (k + 1))
            pairs.append((x, tf.boolean_mask(targets, valid)))
        return pairs

    def _loss(self, x: tf.Tensor, targets: tf.Tensor, seed: tf.Tensor | None) -> tf.Tensor:
        if self.n_negative and seed is not None:
            labels = tf.cast(targets, tf.int64)[:, None]
            sampled = _log_uniform_samples(self.n_negative, self.n_words, seed)
            values = (sampled, _log_uniform_expected(labels, self.n_negative, self.n_words),
                      _log_uniform_expected(sampled, self.n_negative, self.n_words))
            losses = tf.nn.sampled_softmax_loss(self.head.w, self.head.b, labels, x, self.n_negative,
                                                self.n_words, sampled_values=values)
        else:
            logits = tf.matmul(x, self.head.w, transpose_b=True) + self.head.b
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
        return tf.reduce_mean(losses)

    def _train_step(self, tokens, lengths, word_ids, seed):
        with tf.GradientTape() as tape:
            pairs = self._targets(tokens, lengths, word_ids, self.dropout, seed)
            losses = [self._loss(x, t, seed + 15485863 * (k + 1)) for k, (x, t) in enumerate(pairs)]
            loss = 0.5 * (losses[0] + losses[1])
        grads = tape.gradient(loss, self.variables_to_train)
        grads = [tf.convert_to_tensor(g) for g in grads]  # sparse gather gradients made dense for clipping
        grads, norm = tf.clip_by_global_norm(grads, self.clip_norm)
        self.optimizer.apply_gradients(zip(grads, self.variables_to_train, strict=True))
        return loss, norm

    def top_vectors(self, tokens, lengths, word_ids) -> tuple[tf.Tensor, tf.Tensor]:
        """Without dropout: every real position's top-layer vector [N, P] and its target id [N], both
        directions stacked (the softmax is shared): what fitting a softmax alone on a frozen biLM needs."""
        pairs = self._targets(tokens, lengths, word_ids, 0.0, None)
        return tf.concat([x for x, _ in pairs], 0), tf.concat([t for _, t in pairs], 0)

    def _eval_step(self, tokens, lengths, word_ids):
        """Summed exact cross-entropy over both directions, and the number of predictions per direction."""
        pairs = self._targets(tokens, lengths, word_ids, 0.0, None)
        total = tf.add_n([self._loss(x, t, None) * tf.cast(tf.shape(t)[0], tf.float32) for x, t in pairs])
        return total, tf.shape(pairs[0][1])[0]


def heldout_perplexity(trainer: Trainer, sentences: Sequence[Sequence[str]], vocab: Vocabulary) -> float | None:
    """exp(mean cross-entropy) over every prediction of both directions, exact softmax."""
    if not sentences:
        return None
    total, count = 0.0, 0
    for batch in length_batches([len(x) + 2 for x in sentences], EVAL_BATCH_TOKENS, max_batch=EVAL_BATCH_TOKENS):
        loss, n = trainer.eval_step(*pad_batch([sentences[i] for i in batch], vocab))
        total += float(loss)
        count += 2 * int(n)
    return math.exp(total / count)


# ------------------------------------------------------------------ the run

def pretrain(corpus: Sequence[str | Path], options_path: str | Path, out_dir: str | Path, *,
             epochs: float = 1.0, batch_size: int = 64, max_tokens: int = 40, heldout_fraction: float = 0.02,
             n_negative: int = 1024, min_count: int = 3, seed: int = 0, resume: bool = True,
             time_limit_s: float | None = None, max_sentences: int | None = None,
             log: Callable[[str], None] = print, dropout: float = 0.1, learning_rate: float = 0.2,
             clip_norm: float = 10.0) -> dict[str, Any]:
    """Train a biLM on text files (one message per line) and write out_dir/{options.json, weights.hdf5,
    vocab.txt, pretrain.json}; checkpoints go to out_dir/checkpoints and a later call resumes from them.

    Returns the summary written to pretrain.json (held-out perplexity, tokens, wall time, vocabulary size, paths).
    """
    started = time.monotonic()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_args(epochs, batch_size, max_tokens, heldout_fraction, n_negative, min_count, dropout)
    options = read_options(options_path)
    options.setdefault("char_cnn", {})["n_characters"] = N_CHARACTERS  # ids are shifted by one: 262 rows

    lines = read_corpus(corpus, max_sentences)
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(len(lines))[: int(round(heldout_fraction * len(lines)))].tolist())
    train = split_messages([x for i, x in enumerate(lines) if i not in held], max_tokens)
    heldout = split_messages([x for i, x in enumerate(lines) if i in held], max_tokens)
    if not train:
        raise InputError("the corpus has no tokens to train on", file=", ".join(str(p) for p in corpus))

    ckpt_dir = out / CHECKPOINT_DIR
    resuming = resume and tf.train.latest_checkpoint(str(ckpt_dir)) is not None and (out / VOCAB_FILE).is_file()
    vocab = Vocabulary.read(out / VOCAB_FILE) if resuming else Vocabulary.build(train, min_count)
    vocab.write(out / VOCAB_FILE)
    (out / OPTIONS_FILE).write_text(json.dumps(options, indent=1), encoding="utf-8")

    tf.random.set_seed(seed)
    bilm = BiLM(options, seed=seed)
    head = SoftmaxHead(len(vocab.words), bilm.opts.projection_dim, seed)
    trainer = Trainer(bilm, head, len(vocab.words), n_negative, dropout, learning_rate, clip_norm)
    step = tf.Variable(0, dtype=tf.int64, name="step")
    tokens_seen = tf.Variable(0, dtype=tf.int64, name="tokens_seen")
    ckpt = tf.train.Checkpoint(bilm=bilm, head=head, optimizer=trainer.optimizer, step=step,
                               tokens_seen=tokens_seen)
    manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=2)
    if resuming:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log(f"resumed from {manager.latest_checkpoint} at step {int(step)}")
    elif manager.latest_checkpoint:
        log(f"resume=False: starting over (existing checkpoints in {ckpt_dir} will be replaced)")

    lengths = np.array([len(s) for s in train])
    per_epoch = steps_per_epoch(lengths, batch_size, seed)
    total_steps = max(1, int(math.ceil(epochs * per_epoch)))
    softmax = softmax_name(trainer)
    log(f"pretraining: {len(train)} training and {len(heldout)} held-out messages, vocabulary {len(vocab.words)}, "
        f"{total_steps} steps of {batch_size} ({per_epoch} per epoch), {softmax}")

    status = train_loop(trainer, train, vocab, lengths, batch_size, seed, step, tokens_seen, total_steps,
                         manager, started, time_limit_s, log)
    manager.save(checkpoint_number=int(step))
    ppl = heldout_perplexity(trainer, heldout, vocab)
    save_weights_hdf5(bilm, out / WEIGHTS_FILE)
    summary = {
        "heldout_perplexity": ppl,
        "uniform_perplexity": float(len(vocab.words)),
        "train_loss": status["loss"],
        "steps": int(step),
        "total_steps": total_steps,
        "epochs_done": int(step) / per_epoch,
        "tokens": int(tokens_seen),
        "wall_time_s": time.monotonic() - started,
        "stopped_by_time_limit": status["timed_out"],
        "vocab_size": len(vocab.words),
        "n_train_messages": len(train),
        "n_heldout_messages": len(heldout),
        "softmax": softmax,
        "settings": {"epochs": epochs, "batch_size": batch_size, "max_tokens": max_tokens,
                     "heldout_fraction": heldout_fraction, "n_negative": n_negative, "min_count": min_count,
                     "seed": seed, "dropout": dropout, "learning_rate": learning_rate, "clip_norm": clip_norm},
        "corpus": [str(p) for p in corpus],
        "paths": {name: str(out / name) for name in (OPTIONS_FILE, WEIGHTS_FILE, VOCAB_FILE, SUMMARY_FILE)}
        | {"checkpoints": str(ckpt_dir)},
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    shown = "n/a (no held-out messages)" if ppl is None else f"{ppl:.1f}"
    log(f"done: held-out perplexity {shown} (uniform {len(vocab.words)}), {int(tokens_seen)} tokens, "
        f"{summary['wall_time_s']:.0f} s; wrote {out}")
    return summary


def steps_per_epoch(lengths: np.ndarray, batch_size: int, seed: int) -> int:
    return len(_batches(lengths, batch_size, np.random.default_rng(seed)))


def softmax_name(trainer: Trainer) -> str:
    return f"sampled softmax, {trainer.n_negative} negatives" if trainer.n_negative else "full softmax"


def train_loop(trainer: Trainer, train: list[list[str]], vocab: Vocabulary, lengths: np.ndarray,
                batch_size: int, seed: int, step: tf.Variable, tokens_seen: tf.Variable, total_steps: int,
                manager: tf.train.CheckpointManager, started: float, time_limit_s: float | None,
                log: Callable[[str], None], after_step: Callable[[], bool] | None = None) -> dict[str, Any]:
    """The training steps from `step` to total_steps, shared by pretraining and adaptation. after_step runs after
    every step (adaptation evaluates and checkpoints there) and returns True to stop early."""
    last_log = last_ckpt = time.monotonic()
    window_loss, window_steps, window_tokens = 0.0, 0, 0
    loss = float("nan")
    timed_out = stopped = False
    schedule = _schedule(lengths, batch_size, seed, int(step))
    while int(step) < total_steps:
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            timed_out = True
            log(f"time limit of {time_limit_s:.0f} s reached at step {int(step)}")
            break
        batch = next(schedule)
        tokens, lens, ids = pad_batch([train[i] for i in batch], vocab)
        loss_t, _ = trainer.train_step(tokens, lens, ids, tf.constant([seed, int(step)], tf.int32))
        loss = float(loss_t)
        if not math.isfinite(loss):
            raise FloatingPointError(f"pretraining diverged at step {int(step)} (loss {loss})")
        step.assign_add(1)
        n_tokens = int(lens.sum())
        tokens_seen.assign_add(n_tokens)
        window_loss, window_steps, window_tokens = window_loss + loss, window_steps + 1, window_tokens + n_tokens
        now = time.monotonic()
        if now - last_log >= LOG_EVERY_S or int(step) == total_steps:
            mean = window_loss / window_steps
            log(f"step {int(step)}/{total_steps}: loss {mean:.3f} (train perplexity {math.exp(min(mean, 50)):.1f}"
                f"{', sampled' if trainer.n_negative else ''}), {window_tokens / (now - last_log):.0f} tokens/s")
            last_log, window_loss, window_steps, window_tokens = now, 0.0, 0, 0
        if now - last_ckpt >= CHECKPOINT_EVERY_S:
            manager.save(checkpoint_number=int(step))
            last_ckpt = now
        if after_step is not None and after_step():
            stopped = True
            break
    return {"loss": loss, "timed_out": timed_out, "stopped": stopped}


def _check_args(epochs: float, batch_size: int, max_tokens: int, heldout_fraction: float, n_negative: int,
                min_count: int, dropout: float) -> None:
    problems = []
    if not epochs > 0:
        problems.append(f"epochs must be > 0 (got {epochs})")
    if batch_size < 1 or max_tokens < 1 or n_negative < 1 or min_count < 1:
        problems.append("batch_size, max_tokens, n_negative and min_count must be at least 1")
    if not 0.0 <= heldout_fraction < 1.0:
        problems.append(f"heldout_fraction must be in [0, 1) (got {heldout_fraction})")
    if not 0.0 <= dropout < 1.0:
        problems.append(f"dropout must be in [0, 1) (got {dropout})")
    if problems:
        raise InputError("pretraining: " + "; ".join(problems))
