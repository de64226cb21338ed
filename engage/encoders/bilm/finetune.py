"""Fine-tuning the biLM itself on the analysts' labels (ULMFiT's recipe: Howard and Ruder, ACL 2018), then the
usual recipe (lexical branch + stacking) fitted on top of the fine-tuned encoder, saved as one version.

Choices, and why:
- The task head trained with the biLM is what the shipped linear ELMo branch computes: each layer averaged over
  the message's tokens (engage.encoders.bilm.encoder.pooled_layer_means), standardized with the base encoder's
  statistics, the three side by side, dropout, one logit. It starts as the exact logistic regression on the frozen
  base features (engage.head.linear.elmo_estimator, C by inner cross-validation): "top layers first" done to
  convergence, so the first gradient step into the biLM starts from a head that already fits.
- Gradual unfreezing, one group more per epoch: epoch 1 trains the head and the top LSTM layer, epoch 2 adds the
  LSTM layer below, ..., the last adds the character CNN (char embeddings, convolutions, highway, projection).
  Discriminative learning rates: group k (0 = the head) learns at learning_rate / lr_decay ** k (ULMFiT's 2.6),
  each group with its own Adam, created when the group unfreezes. Dropout on every LSTM layer's input (as in
  pretraining) and on the pooled features; gradients clipped by global norm.
- Early stop on the validation the recipe uses: its held-out share (--val-split), or with --cv-folds K the first of
  the recipe's K folds (the same seeded StratifiedKFold), never trained on by the biLM. ROC-AUC of the task head on
  those rows after every epoch; epoch 0 (the base biLM) counts, so fine-tuning that never helps hands back the
  base weights; `patience` epochs without a gain stop it. The best weights are kept in memory and restored.
- A time limit is checked before every step; when it is reached the epoch under way is evaluated as it stands (one
  pass over the validation rows, the only work past the limit) and the best weights so far are kept.
- Then the recipe is trained as always (engage.train.train_model) on the fine-tuned encoder, saved inside the
  version (`encoder/`: options.json + weights.hdf5, the official layout) with its own fingerprint (a hash of those
  files, so the embedding cache never mixes its vectors with the base encoder's), checksummed with the version's
  other files. model.json's encoder entry records the base encoder, the labels (file sha256, data fingerprint),
  the schedule and every epoch's validation figures.

What it cannot promise: with --cv-folds, the biLM has seen the labels of every row outside the early-stop fold, so
the recipe's cross-validated metrics (and the threshold and stacking weights chosen on them) are optimistic for a
fine-tuned version; the early-stop fold's figures (`finetuned.validation`) are the honest ones. Judge it on a test
file (bench/finetune.py).

A TensorFlow Hub ELMo cannot be fine-tuned: google/elmo/3 is a TF1 module whose only trainable variables are the
scalar mix of its three layers (the head already learns that mix: --elmo-branch mlp); its char CNN and LSTM weights
are constants of the graph. Such an encoder is refused with a message saying so.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from engage import registry
from engage.cache import EmbeddingCache, cached_layer_means
from engage.config import models_dir
from engage.encoders.base import Encoder, length_batches
from engage.encoders.bilm.adapt import adaptation_record
from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.encoder import BilmEncoder, pooled_layer_means
from engage.encoders.bilm.model import BiLM
from engage.encoders.bilm.pretrain import _batches
from engage.encoders.bilm.weights import OPTIONS_FILE, WEIGHTS_FILE, load_bilm, save_weights_hdf5
from engage.errors import InputError
from engage.head import HeadConfig
from engage.head.layers import statistics
from engage.head.linear import elmo_estimator
from engage.reading import Messages
from engage.tokens import tokenize
from engage.train import BundledEncoder, TrainResult, _check_labels, _split, data_fingerprint, train_model
from engage.validation import DEFAULT_VALIDATION, Validation

ENCODER_SUBDIR = "encoder"
StepProgress = Callable[[int, int, float], None]
EVAL_BATCH_TOKENS = 4096
HUB_REFUSAL = ("cannot fine-tune {handle}: it is a TensorFlow Hub ELMo. google/elmo/3 is a TF1 module whose only "
               "trainable variables are its scalar mix (three layer weights and a scale), which the head already "
               "learns (--elmo-branch mlp); its character CNN and LSTM weights are constants of the module, so "
               "nothing more of it can be trained. Fine-tuning needs a biLM folder with options.json + weights.hdf5 "
               "(the shipped models/elmo-tweets, an `engage adapt` output, or official AllenNLP/bilm-tf weight "
               "files)")


@dataclass(frozen=True)
class FinetuneSettings:
    epochs: int = 4                 # at most (early stop may end it); epoch 0, the head alone, is extra
    learning_rate: float = 1e-4     # the head's; group k gets learning_rate / lr_decay ** k
    lr_decay: float = 2.6
    dropout: float = 0.1
    batch_size: int = 32
    patience: int = 2               # epochs without a validation gain before stopping
    clip_norm: float = 5.0
    time_limit_s: float | None = None

    def check(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"--finetune-epochs must be at least 1 (got {self.epochs})")
        if not self.learning_rate > 0 or not self.lr_decay >= 1:
            problems.append("the learning rate must be > 0 and its decay per group at least 1")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1) (got {self.dropout})")
        if self.batch_size < 1 or self.patience < 1:
            problems.append("batch size and patience must be at least 1")
        if self.time_limit_s is not None and self.time_limit_s < 0:
            problems.append(f"--time-limit must be at least 0 seconds (got {self.time_limit_s})")
        if problems:
            raise InputError("fine-tuning: " + "; ".join(problems))


def refuse_unless_bilm(encoder: Encoder) -> None:
    """InputError unless the encoder is our biLM (an options.json + weights.hdf5 folder)."""
    if encoder.kind == "hub":
        raise InputError(HUB_REFUSAL.format(handle=encoder.handle))
    if not isinstance(encoder, BilmEncoder):
        raise InputError(f"cannot fine-tune {encoder.handle}: fine-tuning needs a biLM folder with options.json + "
                         "weights.hdf5")


# ------------------------------------------------------------------ the model being trained


class TaskHead(tf.Module):
    """Standardized pooled layers [B, 3 * D] -> one logit. mean/std are the base encoder's, fixed."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, coef: np.ndarray, intercept: float) -> None:
        super().__init__(name="task_head")
        self.mean = tf.constant(mean.reshape(1, -1), tf.float32)
        self.std = tf.constant(std.reshape(1, -1), tf.float32)
        self.w = tf.Variable(coef.reshape(-1, 1).astype(np.float32), name="w")
        self.b = tf.Variable(np.array([intercept], np.float32), name="b")

    def logits(self, pooled: tf.Tensor, dropout: float = 0.0, seed: tf.Tensor | None = None) -> tf.Tensor:
        x = (tf.reshape(pooled, [tf.shape(pooled)[0], -1]) - self.mean) / self.std
        if dropout > 0.0:
            x = tf.nn.experimental.stateless_dropout(x, dropout, seed=seed + 104729)
        return tf.matmul(x, self.w)[:, 0] + self.b[0]


def layer_groups(bilm: BiLM, head: TaskHead) -> list[tuple[str, list[tf.Variable]]]:
    """The groups in the order they unfreeze: the head, the LSTM layers from the top down, the char CNN."""
    lstm = [(f"lstm{k + 1}", [bilm.lstm_w[k], bilm.lstm_b[k], bilm.lstm_p[k]])
            for k in reversed(range(bilm.opts.n_layers))]
    cnn = [bilm.char_embed, *bilm.cnn_w, *bilm.cnn_b, *(v for hw in bilm.highway for v in hw)]
    if bilm.proj_w is not None:
        cnn += [bilm.proj_w, bilm.proj_b]
    return [("head", [head.w, head.b]), *lstm, ("char_cnn", cnn)]


def schedule(group_names: list[str], settings: FinetuneSettings) -> list[dict[str, Any]]:
    """Epoch by epoch: which groups train, and each one's learning rate. Epoch 0 is the head's exact fit."""
    rates = {name: settings.learning_rate / settings.lr_decay ** k for k, name in enumerate(group_names)}  # ULMFiT
    plan = [{"epoch": 0, "trains": ["head"], "how": "exact logistic regression on the frozen base biLM's features"}]
    for epoch in range(1, settings.epochs + 1):
        trains = group_names[:min(epoch + 1, len(group_names))]
        plan.append({"epoch": epoch, "trains": trains, "learning_rates": {g: rates[g] for g in trains}})
    return plan


@dataclass
class Finetuner:
    """The biLM and its task head, the groups and their optimizers; `run` trains them on token lists."""

    bilm: BiLM
    head: TaskHead
    settings: FinetuneSettings
    seed: int = 0
    groups: dict[str, list[tf.Variable]] = field(init=False)
    optimizers: dict[str, keras.optimizers.Optimizer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.groups = dict(layer_groups(self.bilm, self.head))
        self.plan = schedule(list(self.groups), self.settings)
        spec = tf.TensorSpec([None, None, self.bilm.opts.max_chars], tf.int32)
        self._eval = tf.function(lambda ids: self.head.logits(pooled_layer_means(self.bilm.layers(ids))),
                                 input_signature=[spec], autograph=False)

    def trainable(self, epoch: int) -> list[str]:
        return self.plan[epoch]["trains"]

    def learning_rate(self, group: str) -> float:
        return self.settings.learning_rate / self.settings.lr_decay ** list(self.groups).index(group)

    def _step_function(self, names: list[str]) -> Callable:
        """One compiled training step over the groups named (their optimizers created now, at unfreezing)."""
        for name in names:
            if name not in self.optimizers:
                self.optimizers[name] = keras.optimizers.Adam(learning_rate=self.learning_rate(name))
                self.optimizers[name].build(self.groups[name])
        parts = [(self.optimizers[n], self.groups[n]) for n in names]
        variables = [v for _, vs in parts for v in vs]
        dropout, clip = self.settings.dropout, self.settings.clip_norm

        def step(ids, y, seed):
            with tf.GradientTape() as tape:
                layers = self.bilm.training_layers(ids, dropout, seed) if dropout else self.bilm.layers(ids)
                logits = self.head.logits(pooled_layer_means(layers), dropout, seed)
                loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, logits))
            grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]  # gathers made dense
            grads, _ = tf.clip_by_global_norm(grads, clip)
            start = 0
            for optimizer, group in parts:
                optimizer.apply_gradients(zip(grads[start:start + len(group)], group, strict=True))
                start += len(group)
            return loss

        spec = [tf.TensorSpec([None, None, self.bilm.opts.max_chars], tf.int32), tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([2], tf.int32)]
        return tf.function(step, input_signature=spec, autograph=False)

    def logits(self, tokens: list[list[str]]) -> np.ndarray:
        out = np.zeros(len(tokens), np.float32)
        busy = [i for i, t in enumerate(tokens) if t]
        for batch in length_batches([len(tokens[i]) for i in busy], EVAL_BATCH_TOKENS, 256):
            rows = [busy[i] for i in batch]
            out[rows] = self._eval(tf.constant(batch_to_ids([tokens[i] for i in rows],
                                                            self.bilm.opts.max_chars))).numpy()
        empty = [i for i, t in enumerate(tokens) if not t]  # no token: zero features, as the encoder gives
        if empty:
            zeros = tf.zeros([len(empty), 3, self.bilm.opts.output_dim])
            out[empty] = self.head.logits(zeros).numpy()
        return out

    def snapshot(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.bilm.trainable_variables]

    def restore(self, values: list[np.ndarray]) -> None:
        for var, value in zip(self.bilm.trainable_variables, values, strict=True):
            var.assign(value)

    def run(self, train: list[list[str]], y_train: np.ndarray, val: list[list[str]], y_val: np.ndarray,
            log: Callable[[str], None] = print,
            on_epoch: Callable[[int, Finetuner], None] | None = None,
            on_step: StepProgress | None = None) -> dict[str, Any]:
        """Epochs 1.. of the plan with early stop and the time limit; the best weights end up in self.bilm.
        on_epoch(epoch, self) runs after every evaluated epoch, 0 included (tests read the variables there);
        on_step(step, at most this many steps, seconds so far) after every training step (a progress bar)."""
        s, started = self.settings, time.monotonic()
        keep = [i for i, t in enumerate(train) if t]  # token-free rows teach nothing
        train, y_train = [train[i] for i in keep], y_train[keep].astype(np.float32)
        history = [self._evaluate(0, val, y_val, 0, 0.0, started)]
        log(_epoch_line(history[-1]))
        best, best_epoch, best_weights, stale = history[0]["val_roc_auc"], 0, self.snapshot(), 0
        if on_epoch is not None:
            on_epoch(0, self)
        timed_out = False
        rng = np.random.default_rng(self.seed)
        lengths = np.array([len(t) for t in train])
        step_no = 0
        most = s.epochs * len(_batches(lengths, s.batch_size, np.random.default_rng(0)))  # early stop may end sooner
        for epoch in range(1, s.epochs + 1):
            step = self._step_function(self.trainable(epoch))
            losses = []
            for batch in _batches(lengths, s.batch_size, rng):
                limit = self.settings.time_limit_s  # read at every step: a caller may move it while running
                if limit is not None and time.monotonic() - started >= limit:
                    timed_out = True
                    break
                ids = batch_to_ids([train[i] for i in batch], self.bilm.opts.max_chars)
                loss = step(tf.constant(ids), tf.constant(y_train[batch]), tf.constant([self.seed, step_no],
                                                                                       tf.int32))
                losses.append(float(loss))
                step_no += 1
                if on_step is not None:
                    on_step(step_no, most, time.monotonic() - started)
            if not losses:  # the time limit came before this epoch's first step: nothing new to judge
                break
            history.append(self._evaluate(epoch, val, y_val, len(losses), float(np.mean(losses)), started))
            record = history[-1]
            gain = record["val_roc_auc"] is not None and (best is None or record["val_roc_auc"] > best)
            if gain:
                best, best_epoch, best_weights, stale = record["val_roc_auc"], epoch, self.snapshot(), 0
            else:
                stale += 1
            log(_epoch_line(record) + (" (best so far)" if gain else f" (best: epoch {best_epoch})")
                + (" [time limit reached mid-epoch]" if timed_out else ""))
            if on_epoch is not None:
                on_epoch(epoch, self)
            if timed_out or (val and stale >= s.patience):
                break
        if not val:  # nothing to judge by: the last weights are all there is
            best_epoch, best_weights = history[-1]["epoch"], self.snapshot()
        self.restore(best_weights)
        stopped = "time limit" if timed_out else ("early stop" if val and stale >= s.patience else "all epochs")
        log(f"fine-tuning done ({stopped}): keeping epoch {best_epoch}")
        return {"history": history, "best_epoch": best_epoch, "stopped_by": stopped,
                "seconds": time.monotonic() - started}

    def _evaluate(self, epoch: int, val: list[list[str]], y_val: np.ndarray, steps: int, loss: float,
                  started: float) -> dict[str, Any]:
        record = {"epoch": epoch, "trains": self.trainable(epoch), "steps": steps,
                  "train_loss": loss if steps else None, "val_roc_auc": None, "val_loss": None}
        if val and len(np.unique(y_val)) == 2:
            logits = self.logits(val)
            record["val_roc_auc"] = float(roc_auc_score(y_val, logits))
            record["val_loss"] = float(np.mean(np.logaddexp(0.0, logits) - y_val * logits))
        record["elapsed_s"] = time.monotonic() - started
        return record


def _epoch_line(record: dict[str, Any]) -> str:
    auc = "n/a" if record["val_roc_auc"] is None else f"{record['val_roc_auc']:.4f}"
    loss = "" if record["train_loss"] is None else f", train loss {record['train_loss']:.4f}"
    return (f"fine-tuning epoch {record['epoch']} ({' + '.join(record['trains'])}{loss}): validation ROC-AUC "
            f"{auc}, {record['elapsed_s']:.0f} s")


# ------------------------------------------------------------------ validation rows and the head's start


def early_stop_rows(y: np.ndarray, validation: Validation, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows the biLM trains on, rows it is judged on): the recipe's held-out share, or the first of its folds."""
    if validation.folds:
        fit, held = next(StratifiedKFold(validation.folds, shuffle=True, random_state=seed)
                         .split(np.zeros(len(y)), y))
        return np.sort(fit), np.sort(held)
    if not validation.share:
        raise InputError("fine-tuning needs a validation (cross-validation or a held-out share) to stop early on")
    return _split(len(y), y, validation, seed)


def start_head(vectors: np.ndarray, y: np.ndarray, config: HeadConfig) -> TaskHead:
    """The head fitted exactly on the frozen base features: standardize, then the linear branch's regression."""
    mean, std = statistics(vectors)
    flat = ((vectors - mean) / std).reshape(len(vectors), -1)
    fit = elmo_estimator(config, config.elmo_c, y).fit(flat, y)
    return TaskHead(mean, std, fit.coef_[0], float(fit.intercept_[0]))


# ------------------------------------------------------------------ the version


def finetune_model(messages: Messages, encoder: Encoder, config: HeadConfig | None = None, *,
                   settings: FinetuneSettings | None = None, name: str | None = None,
                   validation: Validation = DEFAULT_VALIDATION, cache: EmbeddingCache | None = None,
                   root: str | Path | None = None,
                   log: Callable[[str], None] = print, on_epoch: Callable[[int, Finetuner], None] | None = None,
                   on_step: StepProgress | None = None, **train_kwargs: Any) -> TrainResult:
    """Fine-tune the encoder's biLM on the labels, then train_model (the recipe in `config`, the same validation)
    on the fine-tuned encoder, saved inside the new version. Same arguments and result as train_model, plus the
    fine-tuning settings; `log` gets one line per epoch, `on_step` (Finetuner.run) each training step."""
    config = config or HeadConfig()
    settings = settings or FinetuneSettings()
    settings.check()
    refuse_unless_bilm(encoder)
    name = registry.check_name(name or registry.new_name())
    if (_models_root(root) / name).exists():
        raise InputError(f"model '{name}' already exists in {_models_root(root)}; choose another --name")
    y = _check_labels(messages)
    fit_idx, held_idx = early_stop_rows(y, validation, config.seed)
    cv_folds = validation.folds
    base_vectors, _ = cached_layer_means(encoder, messages.texts, cache)
    head = start_head(base_vectors[fit_idx], y[fit_idx], config)
    bilm = load_bilm(encoder.handle)
    tokens = [tokenize(t)[:encoder.max_tokens] for t in messages.texts]
    tuner = Finetuner(bilm, head, settings, seed=config.seed)
    log(f"fine-tuning {encoder.handle} on {len(fit_idx)} labeled messages, early stop on {len(held_idx)} "
        f"({'fold 1 of ' + str(cv_folds) if cv_folds else 'the held-out share'}); at most {settings.epochs} epochs"
        + (f", time limit {settings.time_limit_s:.0f} s" if settings.time_limit_s is not None else ""))
    ran = tuner.run([tokens[i] for i in fit_idx], y[fit_idx], [tokens[i] for i in held_idx], y[held_idx], log,
                    on_epoch, on_step)
    base = Path(encoder.handle)
    final = _models_root(root) / name / ENCODER_SUBDIR
    record = {
        "handle": registry.stored_handle(str(final), root),
        "finetuned": {
            "base": {"handle": registry.stored_handle(encoder.handle, root), "fingerprint": encoder.fingerprint,
                     "weights_sha256": registry.sha256_file(base / WEIGHTS_FILE),
                     "adapted": adaptation_record(encoder.handle)},
            "labels": _labels_record(messages, y),
            "settings": asdict(settings),
            "schedule": tuner.plan,
            "early_stop_rows": {"method": f"fold 1 of {cv_folds}-fold cross-validation" if cv_folds
                                else "held-out split", "train_rows": len(fit_idx), "rows": len(held_idx)},
            "validation": {"before": ran["history"][0]["val_roc_auc"],
                           "after": ran["history"][ran["best_epoch"]]["val_roc_auc"], "metric": "roc_auc"},
            "history": ran["history"], "best_epoch": ran["best_epoch"], "stopped_by": ran["stopped_by"],
            "seconds": ran["seconds"],
            "note": "with cross-validation the biLM saw the labels of the rows outside the early-stop fold: the "
                    "cross-validated metrics are optimistic; validation.after is measured on rows it never trained on"
            if cv_folds else None,
        },
    }
    with tempfile.TemporaryDirectory(prefix="engage-finetune-") as tmp:
        staged = Path(tmp) / ENCODER_SUBDIR
        staged.mkdir()
        shutil.copyfile(base / OPTIONS_FILE, staged / OPTIONS_FILE)  # byte for byte: only the weights changed
        save_weights_hdf5(bilm, staged / WEIGHTS_FILE)
        tuned = BilmEncoder(str(staged), max_tokens=encoder.max_tokens)
        log(f"fine-tuned encoder fingerprint {tuned.fingerprint[:12]} (base {encoder.fingerprint[:12]}); training "
            "the recipe on it")
        result = train_model(messages, tuned, config, name=name, validation=validation,
                             cache=cache, root=root, bundled=BundledEncoder(staged, ENCODER_SUBDIR, record),
                             **train_kwargs)
    result.seconds["finetune"] = ran["seconds"]
    return result


def _labels_record(messages: Messages, y: np.ndarray) -> dict[str, Any]:
    source = Path(messages.source)
    return {"source": source.name, "sha256": registry.sha256_file(source) if source.is_file() else None,
            "fingerprint": data_fingerprint(messages.texts, y), "rows": len(y)}


def _models_root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else models_dir()
