"""The `engage` command: parses arguments, calls the engine, prints. Exit codes: 0 ok, 1 bad input, 2 internal
error. With --json, the last line of output is one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from engage import tf_startup
from engage.errors import InputError, terminal_text
from engage.formula_guard import PLAIN_CSV, PLAIN_CSV_RISK
from engage.trace_log import log_trace

EXIT_OK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2


def _progress_bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="msg", file=sys.stderr, disable=None, leave=False)


@contextmanager
def _progress(total: int, desc: str):
    bar = _progress_bar(total, desc)
    try:
        yield bar.update
    finally:
        bar.close()


def _emit(args: argparse.Namespace, lines: list[str], payload: dict) -> None:
    for line in lines:
        print(terminal_text(line))
    if args.json:
        print(json.dumps(payload, default=_jsonable))


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _cache(args: argparse.Namespace):
    from engage.cache import EmbeddingCache

    return None if args.no_cache else EmbeddingCache()


def _read(args: argparse.Namespace, require_labels: bool):
    from engage.reading import read_messages

    messages = read_messages(args.data, text_col=args.text_col, label_col=args.label_col,
                             require_labels=require_labels)
    if messages.text_col_guessed:
        _guessed_note(messages.text_col)
    if messages.empty_rows:
        rows = ", ".join(map(str, messages.empty_rows[:10])) + (" ..." if len(messages.empty_rows) > 10 else "")
        _note(f"{len(messages.empty_rows)} empty messages (rows {rows}); they score 0")
    return messages


def _guessed_note(column: str) -> None:
    from engage.reading import guessed_column_note

    _note(f"{guessed_column_note(column)}; if not, pass --text-col")


def _note(text: str) -> None:
    print(f"note: {terminal_text(text)}", file=sys.stderr)


def _figure(value: float | None) -> str:
    """A metric as printed: undefined ones (engage.metrics.rates) say so instead of passing for 0."""
    return "undefined" if value is None else f"{value:.4f}"


def _validation(args: argparse.Namespace):
    """--cv-folds K or --val-split F as a Validation; neither: engage.validation's default (--cv-folds 0 alone:
    none, for a fixed threshold)."""
    from engage.validation import DEFAULT_VALIDATION, NONE, Validation

    if args.cv_folds and args.val_split:
        raise InputError("choose either --cv-folds or --val-split, not both")
    if args.val_split:
        return Validation.held_out(args.val_split)
    if args.cv_folds is not None:
        return Validation.cross(args.cv_folds) if args.cv_folds else NONE
    return DEFAULT_VALIDATION


# train's head flags that default to None, so that --like's value stands unless the flag is given
_HEAD_FLAGS = ("epochs", "batch_size", "learning_rate", "seed", "elmo_branch")
_HEAD_SWITCHES = ("early_stopping", "class_weight", "lexical", "normalize")  # given: on; not given: --like's or off


def _train_recipe(args: argparse.Namespace):
    from engage.recipe import Recipe, recipe_of

    base = recipe_of(args.like) if args.like else Recipe.default()
    head = {k: getattr(args, k) for k in _HEAD_FLAGS if getattr(args, k) is not None}
    head |= {k: True for k in _HEAD_SWITCHES if getattr(args, k)}
    return base.with_flags(encoder=args.encoder, max_tokens=args.max_tokens, head=head,
                           threshold_method=args.threshold_method, threshold_value=args.threshold_value)


def _fit(args: argparse.Namespace, recipe):
    """train_model, or with --finetune the same after fine-tuning the biLM on the labels (engage.encoders.bilm.finetune:
    same arguments, same result)."""
    from engage.train import train_model

    if not (args.finetune or recipe.finetune):  # --like a fine-tuned version fine-tunes too
        if args.finetune_epochs is not None or args.time_limit is not None:
            raise InputError("--finetune-epochs and --time-limit go with --finetune")
        return train_model
    from functools import partial

    from engage.encoders.bilm.finetune import FinetuneSettings, finetune_model

    epochs = {} if args.finetune_epochs is None else {"epochs": args.finetune_epochs}
    return partial(finetune_model, settings=FinetuneSettings(**epochs, time_limit_s=args.time_limit),
                   log=_log)


def cmd_train(args: argparse.Namespace) -> None:
    from engage.encoders import load_encoder

    messages = _read(args, require_labels=True)
    recipe = _train_recipe(args)
    train_model = _fit(args, recipe)
    encoder = load_encoder(recipe.encoder, max_tokens=recipe.max_tokens)
    config = recipe.head
    with _progress(len(messages.texts), "encoding") as update:
        result = train_model(messages, encoder, config, name=args.name, validation=_validation(args),
                             threshold_method=recipe.threshold_method,
                             threshold_value=recipe.threshold_value,
                             activate=args.activate, cache=_cache(args), progress=update, on_fit=_fit_line)
    payload = {"model": result.version.name, "path": str(result.version.path), "active": args.activate,
               "like": recipe.like, "encoder": encoder.handle, "device": encoder.device, "texts": result.n_texts,
               "encoder_computed": result.n_computed, "empty_messages": result.n_empty,
               "truncated": result.n_truncated, "threshold": result.version.meta["threshold"]["value"],
               "heldout_metrics": result.heldout, "seconds": result.seconds,
               "finetuned": result.version.meta["encoder"].get("finetuned")}
    lines = [f"trained {result.version.name} on {result.n_texts} messages ({encoder.device}); "
             f"encoder computed {result.n_computed}, {result.n_truncated} truncated",
             f"saved to {result.version.path}" + (" and activated" if args.activate else "")]
    if result.heldout:
        h = result.heldout
        lines.append(f"{h['method']}: accuracy {_figure(h['accuracy'])} precision {_figure(h['precision'])} "
                     f"recall {_figure(h['recall'])} f1 {_figure(h['f1'])} at threshold {h['threshold']:.3f}")
    if tuned := payload["finetuned"]:
        lines.append(f"fine-tuned ELMo ({tuned['stopped_by']}, kept epoch {tuned['best_epoch']}): early-stop rows' "
                     f"ROC-AUC {_figure(tuned['validation']['before'])} before, "
                     f"{_figure(tuned['validation']['after'])} after")
    _emit(args, lines, payload)


def _fit_line(step) -> None:
    """One stderr line as each fit of the head starts (engage.train.FitStep): which, and the time left."""
    from engage.train import fit_step_text

    print(f"fitting: {fit_step_text(step)}", file=sys.stderr, flush=True)
def cmd_suspects(args: argparse.Namespace) -> None:
    """Every row of a labeled file with its out-of-fold score and a rank, most likely wrong label first
    (engage.suspects: the recipe cross-validated on the file, then cleanlab)."""
    from engage.outputs import TableWriter
    from engage.recipe import Recipe, recipe_of
    from engage.suspects import SUSPECT_COL, summary, suspects_of

    if args.cv_folds < 2:
        raise InputError(f"--cv-folds must be at least 2 (every row needs a score from heads that never saw it), "
                         f"got {args.cv_folds}")
    messages = _read(args, require_labels=True)
    recipe = (recipe_of(args.like) if args.like else Recipe.default()).with_flags(encoder=args.encoder)
    with _progress(len(messages.texts), "encoding") as update:
        ranked = suspects_of(messages, recipe, folds=args.cv_folds, cache=_cache(args), progress=update)
    with TableWriter(args.out) as writer:
        writer.write(ranked)
    payload = summary(ranked, messages, output=args.out) | {"like": recipe.like, "encoder": recipe.encoder,
                                                             "cv_folds": args.cv_folds}
    lines = [f"ranked {len(ranked)} labels of {messages.source} by how likely each is wrong ({args.cv_folds}-fold "
             f"out-of-fold scores{', recipe of ' + recipe.like if recipe.like else ''}); "
             f"{int(ranked[SUSPECT_COL].sum())} suspected label errors; wrote {args.out}"]
    lines += [f"  #{t['rank']}  row {t['row']}  label {t['label']}  out-of-fold score {t['score']:.3f}"
              for t in payload["top"][:5]]
    _emit(args, lines, payload)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from engage.metrics import METRICS, metric_table, undefined_metrics
    from engage.overlap import overlap_note, training_overlap
    from engage.scoring import load_classifier
    from engage.thresholds import choose_threshold, threshold_in_force

    messages = _read(args, require_labels=True)
    clf = load_classifier(args.model, use_cache=not args.no_cache)
    with _progress(len(messages.texts), "scoring") as update:
        scores = clf.score(messages.texts, update).values
    threshold = threshold_in_force(clf, args.threshold)
    if args.threshold is None and args.threshold_method:
        threshold = choose_threshold(messages.labels, scores, args.threshold_method, args.threshold_value)
    table = metric_table(messages.labels, scores, threshold)
    payload = {k: table[k] for k in (*METRICS, "threshold", "n", "confusion")}
    payload |= {"model": clf.name, "support": table["support"]}
    overlap = training_overlap(clf.version, messages.texts, messages.labels)
    payload["training_overlap"] = None if overlap is None else {
        "rows": overlap.rows, "training_rows": overlap.training, "share": overlap.share,
        "same_data": overlap.same_data, "estimated": overlap.estimated}
    (tn, fp), (fn, tp) = table["confusion"]
    lines = [f"model {clf.name} on {Path(args.data).name}: {table['n']} messages, threshold {threshold:.3f}"]
    if (note := overlap_note(overlap, clf.version)) is not None:
        lines.append(f"  note: {note}")
    lines += [f"  {k:<9} {_figure(table[k])}" for k in METRICS]
    lines.append(f"  confusion [[tn {tn}, fp {fp}], [fn {fn}, tp {tp}]]")
    lines += [f"  note: {note}" for note in undefined_metrics(table)]
    _emit(args, lines, payload)


def _say(line: str) -> None:
    """What the command is doing, as it starts it, on stderr (stdout stays the result; --json's last line)."""
    print(f"{terminal_text(line)}…", file=sys.stderr, flush=True)


def _log(line: str) -> None:
    """A long job's own progress line (pretrain, adapt, fine-tune), on stderr as it comes."""
    print(terminal_text(line), file=sys.stderr, flush=True)


def _loaded(args: argparse.Namespace):
    """The model to score with, saying so before the slow part (TensorFlow's import, the encoder's load)."""
    _say(f"loading model {args.model or 'the active one'} (TensorFlow and the ELMo encoder)")
    start = time.perf_counter()
    from engage.scoring import load_classifier

    clf = load_classifier(args.model, use_cache=not args.no_cache)
    print(f"loaded model {clf.name} (encoder on {clf.encoder.device}) in {time.perf_counter() - start:.1f} s",
          file=sys.stderr, flush=True)
    return clf


def cmd_score(args: argparse.Namespace) -> None:
    if args.engine == "ray":
        return cmd_score_ray(args)
    if len(args.input) > 1:
        raise InputError(f"the local engine scores one file, got {len(args.input)}; use --engine ray for several")
    if args.plain_csv and Path(args.out).suffix.lower() not in (".csv", ".tsv"):
        raise InputError("--plain-csv is for a .csv or .tsv output (the others hold no formulas)", file=args.out)
    clf = _loaded(args)
    from engage.monitor import HistoryWriter
    from engage.scoring import score_file

    history = None if args.no_record else HistoryWriter()
    bar = _progress_bar(None, "scoring")
    try:
        summary = score_file(clf, args.input[0], args.out, text_col=args.text_col, label_col=args.label_col,
                             chunk_size=args.chunk_size, flagged_only=args.flagged_only, threshold=args.threshold,
                             progress=bar.update, time_col=args.time_col, history=history, source=args.source,
                             log=_say, spreadsheet_safe=not args.plain_csv)
    finally:
        bar.close()
    if summary.get("text_col_guessed"):
        _guessed_note(summary["text_col"])
    for note in summary.get("time_notes", []):
        _note(note)
    lines = [f"scored {summary['rows']} messages with {clf.name}: {summary['flagged']} engageable at threshold "
             f"{summary['threshold']:.3f}; wrote {summary['output']}"]
    if "history" in summary:
        when = f"the messages' times from '{summary['time_col']}'" if summary["time_col"] else "the scoring time"
        lines.append(f"scoring history: {summary['history']}, under {when}")
    if "labels" in summary:
        lines.append(f"labels ({args.label_col}): {summary['labels']['engageable']} engageable, "
                     f"{summary['labels']['not_engageable']} not engageable")
    _emit(args, lines, summary)


def cmd_score_ray(args: argparse.Namespace) -> None:
    if args.plain_csv:
        raise InputError("--plain-csv is for the local engine; Ray's CSV shards are formula-guarded")
    from engage.distributed import RayJob, score_on_ray
    from engage.distributed.job import stderr_progress
    from engage.monitor import HistoryWriter

    job = RayJob(inputs=args.input, out=args.out, address=args.address, workers=args.workers,
                 gpus_per_worker=args.gpus_per_worker, cpus_per_worker=args.cpus_per_worker,
                 batch_size=args.batch_size, model=args.model, threshold=args.threshold,
                 flagged_only=args.flagged_only, text_col=args.text_col, fmt=args.format,
                 use_cache=not args.no_cache, progress=stderr_progress(),
                 history=None if args.no_record else HistoryWriter(), source=args.source if args.source != "cli"
                 else "ray", time_col=args.time_col)
    manifest = score_on_ray(job)
    if sys.stderr.isatty():
        print(file=sys.stderr)  # end the live progress line
    summary = {"rows": manifest["rows_in"], "output": args.out} | manifest
    lines = [f"scored {manifest['rows_in']} messages with {manifest['model']} on Ray ({manifest['actors']} "
             f"actors): {manifest['flagged']} engageable at threshold {manifest['threshold']:.3f}; wrote "
             f"{len(manifest['shards'])} shards and {manifest['manifest']}"]
    if "history" in manifest:
        when = f"the messages' times from '{manifest['time_col']}'" if manifest["time_col"] else "the scoring time"
        lines.append(f"scoring history: {manifest['history']}, under {when}")
        for note in manifest["time_notes"]:
            _note(note)
    _emit(args, lines, summary)


def cmd_explain(args: argparse.Namespace) -> None:
    """One text: its score and each token's contribution; a file (the argument names one that exists): every
    row's top words for and against, written to --out."""
    from engage.explain import explain, explain_file, top_words
    from engage.scoring import load_classifier

    is_file = _names_a_file(args.input)
    if is_file and not args.out:
        raise InputError(f"{args.input} is a file: pass --out OUT to write each row's top words for and against")
    if args.out and not is_file:
        raise InputError(f"--out explains a file, and there is no file {args.input!r} (to explain a text, leave "
                         f"--out out)")
    top = args.top if args.top is not None else (3 if is_file else 10)
    if top < 1:
        raise InputError(f"--top must be at least 1, got {top}")
    clf = load_classifier(args.model, use_cache=not args.no_cache)
    if is_file:
        summary = explain_file(clf, args.input, args.out, text_col=args.text_col, top=top)
        _emit(args, [f"explained {summary['rows']} messages with {clf.name} ({summary['flagged']} engageable at "
                     f"threshold {summary['threshold']:.3f}); wrote {summary['output']}"], summary)
        return
    (ex,) = explain(clf, [args.input])
    verdict = "engageable" if ex.flagged else "not engageable"
    lines = [f"score {ex.score:.3f} against threshold {ex.threshold:.3f}: {verdict} (model {clf.name})",
             f"logit {ex.logit:+.3f} = base {ex.base:+.3f} + sum of token contributions {ex.total:+.3f}"]
    lines += [f"  {value:+.3f}  {token}" for token, value in ex.top(top)]
    if len(ex.tokens) > top:
        lines.append(f"  ({len(ex.tokens) - top} more tokens; --top N shows more)")
    lines.append(f"for: {top_words(ex, 3, +1) or '-'}   against: {top_words(ex, 3, -1) or '-'}")
    payload = ex.to_json() | {"model": clf.name, "top": [{"token": t, "contribution": c} for t, c in ex.top(top)]}
    _emit(args, lines, payload)


def _names_a_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a long message is too long a file name; a NUL is no file name
        return False


def cmd_models(args: argparse.Namespace) -> None:
    from engage import registry

    if args.action == "list":
        active = registry.active_name()
        rows = [{"name": v.name, "active": v.name == active, "created": v.meta["created"],
                 "encoder": v.meta["encoder"]["handle"], "f1": (v.meta.get("heldout_metrics") or {}).get("f1")}
                for v in registry.list_models()]
        lines = [f"{'*' if r['active'] else ' '} {r['name']}  {r['created']}  encoder {r['encoder']}  "
                 f"held-out f1 {r['f1'] if r['f1'] is None else round(r['f1'], 4)}" for r in rows]
        _emit(args, lines or ["no models yet"], {"models": rows, "active": active})
    elif args.action == "show":
        version = registry.read_model(args.name)
        _emit(args, [json.dumps(version.meta, indent=2)] if not args.json else [], version.meta)
    else:
        _activate(args)


def _activate(args: argparse.Namespace) -> None:
    """The engine's promotion: the labeling sets are re-scored with the version, so the queue follows it."""
    from engage.labels import LabelStore, default_url
    from engage.labels.db import database_exists
    from engage.promotion import promote

    url = default_url()
    store = LabelStore(url) if database_exists(url) else None
    try:
        done = promote(args.name, store)
    finally:
        if store is not None:
            store.close()
    sets = len(done.rescored)
    lines = [f"active model: {done.name}" + (f" (was {done.previous})" if done.previous else "")]
    if sets:
        lines.append(f"re-scored {sets} labeling set{'s' if sets != 1 else ''} "
                     f"({sum(done.rescored.values()):,} messages), so the labeling queue follows {done.name}")
    _emit(args, lines, {"active": done.name, "previous": done.previous,
                        "rescored_sets": {str(k): v for k, v in done.rescored.items()}})


def cmd_serve(args: argparse.Namespace) -> None:
    """The HTTP scoring service (engage/serve/), on uvicorn here or on Ray Serve replicas."""
    from engage.labels import LabelStore
    from engage.serve.settings import is_loopback, load_settings

    settings = load_settings(host=args.host, port=args.port, model=args.model)
    store = LabelStore()  # the API keys, and the audit trail of reloads
    if args.engine == "ray":
        from engage.serve.ray_app import run_on_ray

        return run_on_ray(settings, store, replicas=args.replicas, gpus_per_replica=args.gpus_per_replica,
                          address=args.address)
    import uvicorn

    from engage.serve.service import build_app

    app = build_app(settings, store, on_scored=_scoring_history())
    if is_loopback(settings.host) and not _any_key(store):
        print(f"open mode: no API key is defined, so the service answers without one, on {settings.host} only "
              "(`engage api-key create NAME --role scorer` to require keys)", file=sys.stderr)
    print(f"engage serve: http://{settings.host}:{settings.port} (API documentation at /docs)", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning" if not args.verbose_access
                else "info", access_log=args.verbose_access)


def _scoring_history():
    from engage.serve.history import scoring_history

    return scoring_history()


def _any_key(store) -> bool:
    from engage.serve.keys import any_active_key

    return any_active_key(store)


def cmd_api_key(args: argparse.Namespace) -> None:
    from engage.access import local_actor
    from engage.labels import LabelStore
    from engage.serve import keys

    with LabelStore() as store:
        if args.action == "create":
            key = keys.create_key(store, args.name, args.role, f"cli:{local_actor()}")
            _emit(args, [f"API key {args.name!r} ({args.role}), shown only now; keep it secret:", key],
                  {"name": args.name, "role": args.role, "key": key})
        elif args.action == "revoke":
            keys.revoke_key(store, args.name, f"cli:{local_actor()}")
            _emit(args, [f"revoked API key {args.name!r}"], {"name": args.name, "revoked": True})
        else:
            rows = [{"name": k.name, "role": k.role, "created_at": k.created_at.isoformat(timespec="seconds"),
                     "created_by": k.created_by, "active": k.active,
                     "revoked_at": k.revoked_at and k.revoked_at.isoformat(timespec="seconds")}
                    for k in keys.list_keys(store)]
            lines = [f"{r['name']}  {r['role']}  created {r['created_at']} by {r['created_by']}"
                     + ("" if r["active"] else f"  revoked {r['revoked_at']}") for r in rows]
            _emit(args, lines or ["no API keys"], {"keys": rows})


def cmd_pretrain(args: argparse.Namespace) -> None:
    from engage.encoders.bilm.pretrain import pretrain

    summary = pretrain(args.corpus, args.options, args.out, epochs=args.epochs, batch_size=args.batch_size,
                       max_tokens=args.max_tokens, seed=args.seed, resume=not args.no_resume,
                       time_limit_s=args.time_limit, max_sentences=args.max_sentences,
                       heldout_fraction=args.heldout_fraction, n_negative=args.n_negative, min_count=args.min_count,
                       dropout=args.dropout, learning_rate=args.learning_rate, clip_norm=args.clip_norm,
                       log=_log)
    _emit(args, [f"wrote {args.out}"], summary)


def cmd_adapt(args: argparse.Namespace) -> None:
    from engage.encoders.bilm.adapt import adapt

    summary = adapt(args.files, args.encoder, args.out, text_col=args.text_col, epochs=args.epochs,
                    batch_size=args.batch_size, max_tokens=args.max_tokens, heldout_fraction=args.heldout_fraction,
                    min_count=args.min_count, eval_every=args.eval_every, patience=args.patience, seed=args.seed,
                    resume=not args.no_resume, time_limit_s=args.time_limit, learning_rate=args.learning_rate,
                    log=_log)
    lines = [f"held-out perplexity {summary['heldout_perplexity_before']:.1f} before, "
             f"{summary['heldout_perplexity_after']:.1f} after; wrote {args.out} "
             f"(train on it: engage train DATA --encoder {args.out})"]
    _emit(args, lines, summary)


def cmd_export_hub(args: argparse.Namespace) -> None:
    from engage.encoders.bilm.export import export_hub

    out = export_hub(args.src, args.out)
    _emit(args, [f"exported {args.src} as a TensorFlow Hub ELMo SavedModel: {out}"], {"output": str(out)})


def _report_lines(report: dict) -> list[str]:
    if report.get("empty"):
        return [report["message"]]
    t = report["totals"]
    lines = [f"{report['since']} .. {report['until']}  source {report['source']}  model {report['model']}",
             f"messages {t['messages']:,}  flagged {t['flagged']:,} ({_figure(t['flagged_share'])})  empty "
             f"{t['empty']:,}  looks non-English {t['non_english']:,}"]
    if report.get("reference_note"):
        lines.append(f"note: {report['reference_note']}")
    if "reference" in report:
        ref, sd, est = report["reference"], report["score_drift"], report["estimated"]
        lines.append(f"reference: flagged {_figure(ref['flagged_share'])}, F1 {_figure(ref['f1'])} "
                     f"({ref['n']:,} validation scores)")
        lines.append(f"score drift: PSI {_figure(sd['psi'])}  KS {_figure(sd['ks_statistic'])} (p "
                     f"{sd['ks_pvalue'] if sd['ks_pvalue'] is None else format(sd['ks_pvalue'], '.3g')})")
        td = report["text_drift"]
        lines.append("text drift: too few sampled texts" if td is None else
                     f"text drift: AUC {_figure(td['auc'])}; typical now: {', '.join(td['current_words'][:8])}; "
                     f"typical of training: {', '.join(td['reference_words'][:8])}")
        cal = report["calibration"]
        lines.append(f"estimated precision {_figure(est['precision'])}  recall {_figure(est['recall'])}  F1 "
                     f"{_figure(est['f1'])}  (calibration error {_figure(cal['ece_raw'])}"
                     f"{', recalibrated to ' + _figure(cal['ece_used']) if cal['recalibrated'] else ''})")
    lines.append("day         messages  flagged  share   PSI   est. F1")
    for d in report["daily"]:
        lines.append(f"{d['day']}  {d['messages']:8,}  {d['flagged']:7,}  {_figure(d['flagged_share']):>6}  "
                     f"{_figure(d.get('psi')):>5}  {_figure(d.get('estimated_f1')):>6}")
    lines += [f"ALERT {a['rule']} {a['day']} {a['source']}: {a['message']}" for a in report["alerts"]]
    return lines


def cmd_monitor(args: argparse.Namespace) -> int | None:
    from engage.monitor.report import check, monitor_report, parse_day

    if args.action == "reference":
        from engage.monitor.reference import compute_reference

        path = compute_reference(args.name, args.data, label_col=args.label_col, text_col=args.text_col,
                                 texts=not args.no_texts)
        _emit(args, [f"wrote {path} (model.json's sha256 list now includes it)"], {"reference": str(path)})
        return None
    since, until = parse_day(args.since, "--since"), parse_day(args.until, "--until")
    if args.action == "report":
        report = monitor_report(since=since, until=until, source=args.source, model=args.model,
                                split_by=args.split_by)
        _emit(args, [] if args.json else _report_lines(report), report)
        return None
    alerts, problems = check(since=since, until=until, source=args.source)
    lines = [f"ALERT {a['rule']} {a['day']} {a['source']} {a['model']}: {a['message']}" for a in alerts]
    for problem in problems:
        print(f"note: {problem}", file=sys.stderr)
    _emit(args, lines or ["no open alert"], {"alerts": alerts, "webhook_problems": problems})
    return 1 if alerts else None


def cmd_learning_curve(args: argparse.Namespace) -> None:
    from engage.encoders import load_encoder
    from engage.learning_curve import CURVE_METRICS, NAMES, learning_curve
    from engage.recipe import Recipe, recipe_of
    from engage.registry import active_name

    messages = _read(args, require_labels=True)
    like = args.like or active_name()
    recipe = recipe_of(like) if like else Recipe.default()
    encoder = load_encoder(recipe.encoder, max_tokens=recipe.max_tokens)
    with _progress(len(messages.texts), "encoding") as update:
        curve = learning_curve(messages, encoder, recipe.head, threshold_method=recipe.threshold_method,
                               threshold_value=recipe.threshold_value, repeats=args.repeats, folds=args.cv_folds,
                               cache=_cache(args), progress=update)
    lines = [f"learning curve of {like or 'the default recipe'} on {Path(args.data).name}: {args.cv_folds}-fold "
             f"cross-validated, mean ± spread over {args.repeats} repeats"]
    lines += [f"  {p.share:>4.0%} {p.rows:>7,} labels  "
              + "  ".join(f"{NAMES[m]} {p.mean(m):.4f} ± {p.spread(m):.4f}" for m in CURVE_METRICS)
              for p in curve.points]
    lines += [f"  {s:>4.0%} skipped: too few labels of a class for {args.cv_folds} folds" for s in curve.skipped]
    lines.append(curve.verdict.sentence)
    _emit(args, lines, {"data": str(args.data), "like": like} | curve.to_json())


def _common(p: argparse.ArgumentParser, *, data: bool = True, labels: bool = True) -> None:
    if data:
        p.add_argument("--text-col", help="column holding the message (default: detected)")
    if labels:
        p.add_argument("--label-col", help="column holding the label (default: detected by name)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def build_parser() -> argparse.ArgumentParser:
    # The defaults the help shows come from their owners; these imports load numpy only, not TensorFlow.
    from engage.encoders.base import DEFAULT_MAX_TOKENS
    from engage.head.config import ELMO_BRANCHES, HeadConfig
    from engage.learning_curve import DEFAULT_FOLDS, DEFAULT_REPEATS
    from engage.thresholds import DEFAULT_METHOD, METHODS
    from engage.validation import DEFAULT_VALIDATION

    head = HeadConfig()

    parser = argparse.ArgumentParser(prog="engage", description="Find the messages a brand must answer.")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up log (hidden by default); may also follow the command")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a classifier version on a labeled file")
    p.add_argument("data", help="CSV, TSV, XLSX, Parquet or JSON Lines file with a label column")
    _common(p)
    p.add_argument("--like", metavar="NAME",
                   help="the encoder, head and threshold settings of version NAME (e.g. engage-default, the shipped "
                        "model); flags given as well win")
    p.add_argument("--encoder", help="ELMo: TF Hub handle or folder, or a folder with options.json + weights.hdf5 "
                                     "(default: --like's, else $ENGAGE_ELMO_HANDLE or https://tfhub.dev/google/elmo/3; "
                                     "offline: models/elmo-tweets, the shipped one)")
    p.add_argument("--max-tokens", type=int,
                   help=f"truncate messages to this many tokens (default {DEFAULT_MAX_TOKENS})")
    p.add_argument("--epochs", type=int, help=f"default {head.epochs}")
    p.add_argument("--batch-size", type=int, help=f"default {head.batch_size}")
    p.add_argument("--learning-rate", type=float, help=f"default {head.learning_rate}")
    p.add_argument("--cv-folds", type=int, default=None,
                   help="K-fold cross-validation for the threshold and the reported metrics, then the final model "
                        f"trains on every row (default {DEFAULT_VALIDATION.folds}; 0 = off)")
    p.add_argument("--val-split", type=float, default=0.0,
                   help="instead of cross-validation: share held out for metrics, threshold, early stopping")
    p.add_argument("--early-stopping", action="store_true", help="stop when the held-out loss stops falling "
                                                                   "(needs --val-split F)")
    p.add_argument("--class-weight", action="store_true", help="weigh classes to balance them")
    p.add_argument("--lexical", action="store_true", help="add the hashed word/char n-gram branch (stacked)")
    p.add_argument("--normalize", action="store_true", help="standardize each ELMo layer before the mix")
    p.add_argument("--elmo-branch", choices=list(ELMO_BRANCHES),
                   help=f"default {head.elmo_branch}; mlp: the seed's scalar mix + Dense({head.hidden}); linear: "
                        "logistic regression on the standardized layers, blended with --lexical by stacking (the "
                        "shipped model's head)")
    p.add_argument("--threshold-method", choices=METHODS,
                   help=f"default {DEFAULT_METHOD}")
    p.add_argument("--threshold-value", type=float, help="fixed threshold, target, or K")
    p.add_argument("--seed", type=int, help=f"default {head.seed}")
    p.add_argument("--name", help="version name (default: engage-<UTC time>)")
    p.add_argument("--activate", action="store_true", help="make this the active model")
    p.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    p.add_argument("--finetune", action="store_true",
                   help="fine-tune the biLM (an options.json + weights.hdf5 ELMo) on the labels first, then train the "
                        "recipe on it; the fine-tuned ELMo is saved inside the version (README: fine-tuning)")
    p.add_argument("--finetune-epochs", type=int, help="with --finetune: at most this many epochs (default 4)")
    p.add_argument("--time-limit", type=float, help="with --finetune: stop fine-tuning after this many seconds, "
                                                    "keeping the best weights so far")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("suspects", help="rank a labeled file's labels by how likely each is wrong (out-of-fold "
                                        "scores, cleanlab)")
    p.add_argument("data")
    _common(p)
    p.add_argument("--out", required=True, help="every row with engage_oof_score, engage_label_quality, "
                                                "engage_suspected and engage_suspect_rank, most suspect first "
                                                "(.csv, .tsv, .jsonl, .parquet, .xlsx)")
    p.add_argument("--like", help="train like this version (its encoder, head settings); default: as engage train "
                                  "without --like")
    p.add_argument("--encoder", help="ELMo handle (default: --like's, else the configured one)")
    p.add_argument("--cv-folds", type=int, default=DEFAULT_VALIDATION.folds,
                   help=f"folds of the cross-validation (default {DEFAULT_VALIDATION.folds})")
    p.add_argument("--no-cache", action="store_true")
    p.set_defaults(func=cmd_suspects)

    p = sub.add_parser("evaluate", help="metrics of a model on a labeled file")
    p.add_argument("data")
    _common(p)
    p.add_argument("--model", help="version name (default: the active model)")
    p.add_argument("--threshold", type=float, help="fixed threshold (default: the model's)")
    p.add_argument("--threshold-method", choices=[m for m in METHODS if m != "fixed"],  # fixed: --threshold
                   help="choose the threshold on this file's labels instead")
    p.add_argument("--threshold-value", type=float)
    p.add_argument("--no-cache", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("learning-curve", help="will more labels help? the recipe on 10/25/50/75/100 %% of the "
                                              "labels, cross-validated")
    p.add_argument("data", help="a labeled file, as for train")
    _common(p)
    p.add_argument("--like", metavar="NAME", help="the recipe of version NAME (default: the active model's)")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                   help=f"draws of each share (default {DEFAULT_REPEATS}): their spread")
    p.add_argument("--cv-folds", type=int, default=DEFAULT_FOLDS,
                   help=f"folds of each fit's cross-validation (default {DEFAULT_FOLDS})")
    p.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    p.set_defaults(func=cmd_learning_curve)

    p = sub.add_parser("score", help="score every message of a file (streamed in chunks), or of many on Ray")
    p.add_argument("input", nargs="+", help="a file; with --engine ray: files, folders or glob patterns")
    p.add_argument("--out", required=True, help="output file: .csv, .tsv, .jsonl, .parquet or .xlsx (written in "
                                                "full or not at all); with --engine ray a new folder of shards + "
                                                "manifest.json")
    _common(p, labels=False)
    p.add_argument("--label-col", help="check and count this label column (default: labels pass through unread)")
    p.add_argument("--model")
    p.add_argument("--threshold", type=float)
    p.add_argument("--flagged-only", action="store_true", help="write only the engageable rows")
    p.add_argument("--plain-csv", action="store_true",
                   help=f"{PLAIN_CSV}, with no quote put before a text starting with = + - @ (local engine). "
                        f"{PLAIN_CSV_RISK}")
    p.add_argument("--chunk-size", type=int, default=10_000)
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--time-col", help="column holding each message's date/time (default: detected by name, else "
                                      "the scoring time is recorded; --time-col '' records the scoring time)")
    p.add_argument("--source", default="cli", help="source name in the scoring history (default: cli)")
    p.add_argument("--no-record", action="store_true",
                   help="do not record this run in the scoring history ([monitor] record = false turns it off)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process; ray: Ray Data on a cluster (README, 'Scale out')")
    ray = p.add_argument_group("--engine ray")
    ray.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a Ray started here)")
    ray.add_argument("--workers", type=int, default=2, help="most scoring actors (the pool grows from 1)")
    ray.add_argument("--gpus-per-worker", type=float, default=0.0)
    ray.add_argument("--cpus-per-worker", type=float, default=1.0)
    ray.add_argument("--batch-size", type=int, default=1000, help="rows per actor call")
    ray.add_argument("--format", choices=["parquet", "csv", "jsonl"], help="shard format (default: from OUT's "
                                                                            "suffix, else parquet)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("monitor", help="the scoring history: figures, drift, alerts (README, 'Monitoring')")
    msub = p.add_subparsers(dest="action", required=True)
    for action, helptext in (("report", "the figures of a period"),
                             ("check", "exit 1 and print the alerts when one is open (for cron)")):
        mp = msub.add_parser(action, help=helptext)
        mp.add_argument("--since", help="first day, YYYY-MM-DD (report: 30 days before --until; check: the last "
                                        "3 recorded days)")
        mp.add_argument("--until", help="last day, YYYY-MM-DD (default: the last recorded day)")
        mp.add_argument("--source", help="one source (default: all)")
        mp.add_argument("--json", action="store_true", help="print one JSON object as the last line")
        if action == "report":
            mp.add_argument("--model", help="model version (default: the one that scored most in the period)")
            mp.add_argument("--split-by", help="a column recorded with the messages (channel, brand, ...)")
    mp = msub.add_parser("reference", help="write a version's reference from its training file (for a version "
                                           "trained before references were saved, e.g. engage-default)")
    mp.add_argument("name")
    mp.add_argument("data")
    _common(mp)
    mp.add_argument("--no-texts", action="store_true", help="leave out the sample of training texts (then no text "
                                                             "drift is measured)")
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("explain", help="why a message scores as it does: each word's contribution")
    p.add_argument("input", metavar="TEXT|FILE", help="a message, or a file of messages (with --out)")
    p.add_argument("--out", help="for a file: output with each row's top words for and against (.csv, .tsv, "
                                 ".jsonl, .parquet, .xlsx)")
    p.add_argument("--model")
    p.add_argument("--top", type=int, help="tokens shown for a text (default 10); for a file, words for and "
                                           "against per row (default 3)")
    _common(p, labels=False)
    p.add_argument("--no-cache", action="store_true")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("models", help="list, show or activate model versions")
    msub = p.add_subparsers(dest="action", required=True)
    for action, helptext in (("list", "every version"), ("show", "one version's model.json"),
                             ("activate", "make a version the active one")):
        mp = msub.add_parser(action, help=helptext)
        if action != "list":
            mp.add_argument("name")
        mp.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("serve", help="score messages over HTTP as they arrive (README, 'Scoring service')")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; another needs an API key defined)")
    p.add_argument("--port", type=int, help="default 8000")
    p.add_argument("--model", help="serve this version (default: the active one, followed when it changes)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process (uvicorn); ray: Ray Serve replicas on a cluster")
    p.add_argument("--replicas", type=int, default=1, help="--engine ray: replicas of the service")
    p.add_argument("--gpus-per-replica", type=float, default=0.0, help="--engine ray: GPUs each replica takes")
    p.add_argument("--address", help="--engine ray: Ray cluster address (default: $RAY_ADDRESS, else a Ray "
                                     "started here)")
    p.add_argument("--access-log", dest="verbose_access", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("api-key", help="create, list or revoke the HTTP service's API keys")
    ksub = p.add_subparsers(dest="action", required=True)
    kp = ksub.add_parser("create", help="a new key, printed once (only its hash is stored)")
    kp.add_argument("name")
    kp.add_argument("--role", choices=["scorer", "admin"], required=True,
                    help="scorer: score and explain; admin: also reload")
    kp.add_argument("--json", action="store_true")
    kp = ksub.add_parser("list", help="every key: name, role, created, revoked")
    kp.add_argument("--json", action="store_true")
    kp = ksub.add_parser("revoke", help="a key stops working (within the service's key_cache_s)")
    kp.add_argument("name")
    kp.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_api_key)

    p = sub.add_parser("pretrain", help="pretrain an ELMo biLM on text files (one message per line)")
    p.add_argument("corpus", nargs="+")
    p.add_argument("--options", required=True, help="options.json of the official schema")
    p.add_argument("--out", required=True, help="folder for options.json + weights.hdf5")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-tokens", type=int, default=40)
    p.add_argument("--max-sentences", type=int)
    p.add_argument("--time-limit", type=float, help="stop (and save) after this many seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout-fraction", type=float, default=0.02, help="messages held out for perplexity")
    p.add_argument("--n-negative", type=int, default=1024, help="sampled-softmax negatives (big vocabularies)")
    p.add_argument("--min-count", type=int, default=3, help="words seen fewer times become <UNK>")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--learning-rate", type=float, default=0.2, help="Adagrad, as the original")
    p.add_argument("--clip-norm", type=float, default=10.0)
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("adapt", help="continue an ELMo biLM's LM training on your own messages (any file engage "
                                     "reads, labeled or not)")
    p.add_argument("files", nargs="+")
    p.add_argument("--encoder", required=True, help="folder with options.json + weights.hdf5 (e.g. "
                                                   "models/elmo-tweets)")
    p.add_argument("--out", required=True, help="new folder for the adapted options.json + weights.hdf5")
    p.add_argument("--text-col", help="column holding the message (default: detected)")
    p.add_argument("--epochs", type=float, default=10.0, help="at most this many passes (early stop may end it)")
    p.add_argument("--time-limit", type=float, help="stop (and keep the best so far) after this many seconds")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=40)
    p.add_argument("--heldout-fraction", type=float, default=0.1, help="messages held out for perplexity")
    p.add_argument("--min-count", type=int, default=2, help="softmax vocabulary: words seen at least this often")
    p.add_argument("--eval-every", type=int, help="held-out perplexity every N steps (default: twice an epoch)")
    p.add_argument("--patience", type=int, default=3, help="stop after this many evaluations without a gain")
    p.add_argument("--learning-rate", type=float, default=0.05, help="Adagrad")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("export-hub", help="save a biLM as a TensorFlow Hub ELMo SavedModel")
    p.add_argument("src", help="folder with options.json + weights.hdf5")
    p.add_argument("out", help="new folder for the SavedModel")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export_hub)
    return parser


def _take_verbose(argv: list[str] | None) -> tuple[bool, list[str]]:
    """--verbose anywhere before a lone "--" (engage --verbose train ... or engage train ... --verbose)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    head = [a for a in argv[:end] if a != "--verbose"]
    return len(head) < end, head + argv[end:]


def run(argv: list[str] | None, handler: Callable[[argparse.Namespace], None] | None = None) -> int:
    verbose, argv = _take_verbose(argv)
    tf_startup.configure(verbose)  # before anything imports TensorFlow
    args = build_parser().parse_args(argv)
    try:
        code = (handler or args.func)(args)  # a command may answer another code (engage monitor check: 1)
        return code if isinstance(code, int) else EXIT_OK
    except InputError as exc:
        print(f"error: {terminal_text(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # anything else is a bug: say so, keep the trace in the log
        log = log_trace("engage.cli")
        print(f"internal error: {type(exc).__name__}: {terminal_text(str(exc))} (trace in {log})", file=sys.stderr)
        return EXIT_INTERNAL


def main() -> None:
    sys.exit(run(None))


if __name__ == "__main__":
    main()
