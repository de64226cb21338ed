"""engage.explain: exact lexical contributions, occlusion for the ELMo branch, both heads, both encoder kinds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from engage.cache import EmbeddingCache
from engage.encoders import load_encoder
from engage.explain import explain, lexical_contributions, occlusion_variants, without_tokens
from engage.head import HeadConfig, build_head, head_inputs, head_parts, predict, train_head
from engage.lexical import lexical_features
from engage.tokens import token_spans, tokenize
from engage.validation import Validation

ROOT = Path(__file__).resolve().parents[1]
BILM = ROOT / "models" / "elmo-tweets"
F = 2**18
TEXT = "Refund my order, please!  Order #12"
TRICKY = ["@FC_Help my order never arrived!! can you help?", "don't-stop wow…  ΣΑΣ İstanbul http://x.co/a?b=1",
          "café crème — cold ☕", "a.b,c;d  \t e\n\nf", "x", "", "   ", "#tag @user it's 3:45pm"]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _column(gram: str, block: int) -> int:
    from sklearn.feature_extraction import FeatureHasher

    return int(FeatureHasher(n_features=F, input_type="string", alternate_sign=False).transform([[gram]]).indices[0]) \
        + block * F


def _hand_set(encoder, weights: dict[int, float], intercept: float, blend=(0.5, 2.0, -0.25)):
    """A linear head with the lexical branch whose weights are all set by hand."""
    config = HeadConfig(lexical=True, elmo_branch="linear")
    head = build_head(config, encoder.dim)
    kernel = np.zeros((2 * F, 1), np.float32)
    for col, w in weights.items():
        kernel[col, 0] = w
    head.get_layer("lexical_logit").set_weights([kernel, np.array([intercept], np.float32)])
    rng = np.random.default_rng(0)
    head.get_layer("elmo_logit").set_weights([rng.normal(0, 0.1, (3 * encoder.dim, 1)).astype(np.float32),
                                              np.array([0.1], np.float32)])
    a_elmo, a_lex, bias = blend
    head.get_layer("blend").set_weights([np.array([[a_elmo], [a_lex]], np.float32), np.array([bias], np.float32)])
    return SimpleNamespace(encoder=encoder, config=config, head=head, threshold=0.5, cache=None)


@pytest.fixture(scope="module")
def hub_encoder(hub_fixture):
    return load_encoder(str(hub_fixture), max_tokens=64)


@pytest.fixture(scope="module")
def bilm_encoder():
    return load_encoder(str(BILM), max_tokens=64)


def test_lexical_contributions_are_the_hand_set_weights_times_the_feature_values(hub_encoder):
    word, chars = _column("refund", 0), _column("r, p", 1)
    clf = _hand_set(hub_encoder, {word: 2.0, chars: 1.5}, intercept=-0.5)
    x = lexical_features([TEXT]).toarray()[0]
    (ex,) = explain(clf, [TEXT])
    assert ex.tokens == ["Refund", "my", "order", ",", "please", "!", "Order", "#12"]
    raw = ex.lexical / 2.0  # lexical is blend-weighted (a_lex = 2.0)
    expected = np.zeros(len(ex.tokens))
    expected[0] = 2.0 * x[word]                 # "refund" lies inside "Refund"
    expected[[2, 3, 4]] = 1.5 * x[chars] / 3    # "r, p": one character of order, of "," and of please
    np.testing.assert_allclose(raw, expected, rtol=1e-6, atol=1e-9)
    assert x[word] > 0 and x[chars] > 0
    lexical = ex.parts["lexical"]
    assert lexical["intercept"] + raw.sum() == pytest.approx(lexical["logit"], abs=1e-6)


def test_base_plus_sum_is_the_logit_and_the_score_is_the_heads(hub_encoder):
    rng = np.random.default_rng(3)
    cols = sorted({_column(g, b) for t in TRICKY for g, b in _grams(t)})
    clf = _hand_set(hub_encoder, {c: float(rng.normal()) for c in cols}, intercept=0.7)
    exs = explain(clf, TRICKY)
    served = predict(clf.head, head_inputs(clf.config, hub_encoder.layer_means(TRICKY), TRICKY))
    lexical_head = _branch_logit(clf.head, "lexical_logit", head_inputs(clf.config, np.zeros((len(TRICKY), 3, 16),
                                                                                            np.float32), TRICKY))
    for ex, p, lex in zip(exs, served, lexical_head, strict=True):
        lexical = ex.parts["lexical"]
        # exact, to float32 precision of the served Dense layer: intercept + sum == the head's lexical logit
        assert lexical["intercept"] + ex.lexical.sum() / 2.0 == pytest.approx(lex, abs=1e-5)
        assert lexical["intercept"] + lexical["sum"] == pytest.approx(lexical["logit"], abs=1e-9)
        assert ex.base + ex.total == pytest.approx(ex.logit, abs=1e-9)
        if ex.text.strip():
            assert ex.score == pytest.approx(p, abs=1e-5)
        else:
            assert ex.score == 0.0 and ex.tokens == []


def test_every_ngram_the_features_hold_is_credited_to_a_token():
    """If this module's n-grams and sklearn's disagreed, a feature's weight would be credited to nobody."""
    rng = np.random.default_rng(5)
    for text in TRICKY:
        weights = rng.normal(size=2 * F)
        (contrib,), logits = lexical_contributions([text], [token_spans(text)], weights, 0.0, F, 1.0)
        x = lexical_features([text]).astype(np.float64)
        assert contrib.sum() == pytest.approx(float((x @ weights)[0]), abs=1e-9), text
        assert logits[0] == pytest.approx(float((x @ weights)[0]), abs=1e-9)


def test_an_ngram_that_does_not_occur_changes_nothing(hub_encoder):
    clf = _hand_set(hub_encoder, {_column("chargeback", 0): 5.0, _column("zq", 1): -3.0}, intercept=0.25)
    (ex,) = explain(clf, [TEXT])
    assert np.all(ex.lexical == 0.0)
    assert ex.parts["lexical"]["logit"] == pytest.approx(0.25, abs=1e-9)


def test_a_token_the_encoder_never_sees_has_no_elmo_part(hub_fixture):
    """Past max_tokens a token does not occur in ELMo's input: occluding it changes nothing, so it is not re-run."""
    encoder = load_encoder(str(hub_fixture), max_tokens=4)
    clf = _hand_set(encoder, {}, intercept=0.0)
    text = "one two three four five six"
    (ex,) = explain(clf, [text])
    assert np.all(ex.elmo[4:] == 0.0) and np.any(ex.elmo[:4] != 0.0)
    assert occlusion_variants(tokenize(text), 4) == ["two three four five", "one three four five",
                                                     "one two four five", "one two three five"]
    # past the token that moves in when one is removed, a different tail changes no ELMo part
    (other,) = explain(clf, ["one two three four five eight nine"])
    np.testing.assert_allclose(other.elmo[:4], ex.elmo[:4], atol=1e-6)
    assert np.all(other.elmo[4:] == 0.0)


def test_occlusion_is_the_drop_when_the_token_is_removed(hub_encoder):
    clf = _hand_set(hub_encoder, {}, intercept=0.0)
    text = "my parcel never arrived"
    (ex,) = explain(clf, [text])
    heads = head_parts(clf.head, clf.config)
    full = heads.elmo_logits(hub_encoder.layer_means([text]))[0]
    for i in range(len(ex.tokens)):
        gone = without_tokens(text, ex.spans, {i})
        assert tokenize(gone) == ex.tokens[:i] + ex.tokens[i + 1:]
        drop = full - heads.elmo_logits(hub_encoder.layer_means([gone]))[0]
        assert ex.elmo[i] == pytest.approx(0.5 * drop, abs=1e-5)  # a_elmo = 0.5


def test_variants_re_tokenize_to_the_remaining_tokens():
    for text in TRICKY:
        tokens = tokenize(text)
        for i, variant in enumerate(occlusion_variants(tokens, 64)):
            assert tokenize(variant) == tokens[:i] + tokens[i + 1:], (text, i)
            assert tokenize(without_tokens(text, token_spans(text), {i})) == tokens[:i] + tokens[i + 1:]


@pytest.mark.parametrize("branch,lexical,normalize", [("linear", True, False), ("linear", False, False),
                                                      ("mlp", True, True), ("mlp", False, False)])
@pytest.mark.parametrize("kind", ["hub", "bilm"])
def test_every_head_and_encoder_kind(kind, branch, lexical, normalize, hub_encoder, bilm_encoder, tmp_path):
    from engage.testing.app_world import labeled_frame

    encoder = hub_encoder if kind == "hub" else bilm_encoder
    frame = labeled_frame(40, seed=1)
    texts, y = frame["text"].tolist(), frame["engage"].to_numpy()
    config = HeadConfig(elmo_branch=branch, lexical=lexical, normalize=normalize, epochs=2, hidden=8,
                        lexical_features=2**12)
    vectors = encoder.layer_means(texts)
    head, _ = train_head(config, head_inputs(config, vectors, texts), y)
    cache = EmbeddingCache(tmp_path / "cache")
    clf = SimpleNamespace(encoder=encoder, config=config, head=head, threshold=0.5, cache=cache)
    picked = texts[:6] + ["", "refund refund refund"]
    exs = explain(clf, picked)
    served = predict(head, head_inputs(config, encoder.layer_means(picked), picked))
    for ex, p in zip(exs, served, strict=True):
        assert len(ex.contributions) == len(tokenize(ex.text))
        assert ex.base + ex.total == pytest.approx(ex.logit, abs=1e-9)
        assert ex.parts["elmo"]["method"] == "occlusion"
        assert ("lexical" in ex.parts) == lexical
        if lexical:
            assert ex.parts["lexical"]["intercept"] + ex.parts["lexical"]["sum"] == \
                pytest.approx(ex.parts["lexical"]["logit"], abs=1e-9)
        else:
            assert np.all(ex.lexical == 0.0)
        assert ex.score == (0.0 if not ex.text.strip() else pytest.approx(p, abs=2e-5))
        np.testing.assert_allclose(ex.contributions, ex.elmo + ex.lexical)
    again = explain(clf, picked)
    for a, b in zip(exs, again, strict=True):
        np.testing.assert_allclose(a.contributions, b.contributions, atol=1e-6)  # deterministic
    # the messages went into the cache (as scoring would put them), their occlusion variants did not
    stored = cache.get_many(encoder.fingerprint, picked + occlusion_variants(tokenize(picked[0]), 64))
    assert len(stored) == len(set(picked))


def test_top_words_for_and_against(hub_encoder):
    clf = _hand_set(hub_encoder, {_column("refund", 0): 3.0, _column("thanks", 0): -3.0}, intercept=0.0,
                    blend=(0.0, 1.0, 0.0))
    (ex,) = explain(clf, ["thanks for the refund"])
    assert ex.top(1, +1)[0][0] == "refund"
    assert ex.top(1, -1)[0][0] == "thanks"
    assert [t for t, _ in ex.top(2)] in (["refund", "thanks"], ["thanks", "refund"])
    assert all(c > 0 for _, c in ex.top(5, +1)) and all(c < 0 for _, c in ex.top(5, -1))
    payload = ex.to_json()
    assert set(payload) >= {"text", "score", "threshold", "engageable", "logit", "base", "sum", "parts", "tokens"}
    assert payload["tokens"][3] == {"token": "refund", "start": 15, "end": 21,
                                    "contribution": pytest.approx(ex.contributions[3]),
                                    "elmo": 0.0, "lexical": pytest.approx(ex.contributions[3])}


def _grams(text: str):
    from engage.explain import _occurrences

    return [(g, block) for g, block, _ in _occurrences(text)]


def _branch_logit(head, layer: str, inputs: dict) -> np.ndarray:
    import keras

    sub = keras.Model(head.input, head.get_layer(layer).output)
    from engage.head.serving import _rows

    return np.asarray(sub({k: _rows(v, 0, len(v) if not hasattr(v, "shape") else v.shape[0])
                           for k, v in inputs.items()}, training=False)).reshape(-1)


# ---- the command line ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_world(tmp_path_factory, hub_fixture):
    """A models folder with version "m" (linear + lexical on the hub fixture), trained once for the CLI tests."""
    import pandas as pd

    from engage.reading import read_messages
    from engage.testing.app_world import labeled_frame
    from engage.train import train_model

    base = tmp_path_factory.mktemp("explain-cli")
    data = base / "labeled.csv"
    labeled_frame(60, seed=2).to_csv(data, index=False)
    config = HeadConfig(lexical=True, elmo_branch="linear")
    train_model(read_messages(data, label_col="engage"), load_encoder(str(hub_fixture)), config, name="m",
                validation=Validation.cross(3), activate=True, root=base / "models")
    return base, data, pd.read_csv(data, keep_default_na=False)


@pytest.fixture
def trained(cli_world, monkeypatch):
    base, data, frame = cli_world
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(base / "models"))
    return data, frame


def _last_json(capsys) -> dict:
    import json

    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_explain_text_json_shape(trained, capsys):
    from engage.cli import run
    from engage.scoring import load_classifier

    text = "@brand my order never arrived, can you help?"
    assert run(["explain", text, "--top", "3", "--json"]) == 0
    out = _last_json(capsys)
    assert set(out) == {"text", "truncated", "score", "threshold", "engageable", "logit", "base", "sum", "parts",
                        "tokens", "model", "top"}
    assert out["text"] == text and out["model"] == "m" and out["truncated"] is False
    assert [t["token"] for t in out["tokens"]] == tokenize(text)
    assert all(set(t) == {"token", "start", "end", "contribution", "elmo", "lexical"} for t in out["tokens"])
    assert all(text[t["start"]:t["end"]] == t["token"] for t in out["tokens"])
    assert len(out["top"]) == 3 and set(out["top"][0]) == {"token", "contribution"}
    assert out["base"] + out["sum"] == pytest.approx(out["logit"], abs=1e-9)
    assert out["sum"] == pytest.approx(sum(t["contribution"] for t in out["tokens"]), abs=1e-9)
    assert set(out["parts"]) == {"bias", "elmo", "lexical"}
    assert out["parts"]["lexical"]["method"] == "exact" and out["parts"]["elmo"]["method"] == "occlusion"
    clf = load_classifier("m")
    assert out["score"] == pytest.approx(float(clf.score([text]).values[0]), abs=1e-5)
    assert out["threshold"] == clf.threshold and out["engageable"] == (out["score"] >= clf.threshold)


def test_cli_explain_text_prints_score_threshold_and_tokens(trained, capsys):
    from engage.cli import run

    assert run(["explain", "refund please"]) == 0
    out = capsys.readouterr().out
    assert "against threshold" in out and "refund" in out and "please" in out and "base" in out


def test_cli_explain_file_adds_words_for_and_against(trained, tmp_path, capsys):
    import pandas as pd

    from engage.cli import run
    from engage.explain import AGAINST_COL, FOR_COL
    from engage.scoring import FLAG_COL, SCORE_COL, load_classifier

    data, frame = trained
    out = tmp_path / "why.csv"
    assert run(["explain", str(data), "--out", str(out), "--top", "2", "--json"]) == 0
    summary = _last_json(capsys)
    assert summary["rows"] == len(frame) and summary["output"] == str(out)
    why = pd.read_csv(out, keep_default_na=False)
    assert list(why.columns) == list(frame.columns) + [SCORE_COL, FLAG_COL, FOR_COL, AGAINST_COL]
    np.testing.assert_allclose(why[SCORE_COL], load_classifier("m").score(frame["text"].tolist()).values, atol=1e-5)
    assert why["text"].iloc[1].startswith("'=HYPERLINK")  # formula-safe, as every CSV output
    for text, words in zip(frame["text"], why[FOR_COL], strict=True):
        words = words[1:] if words.startswith("'@") else words  # "@brand ..." is formula-safe too
        listed = [w.rsplit(" ", 1) for w in words.split("; ")] if words else []
        assert len(listed) <= 2 and all(tok in tokenize(text) and float(v) > 0 for tok, v in listed)
    assert why[FOR_COL].iloc[4] == "" and why[AGAINST_COL].iloc[4] == ""  # the empty message


def test_cli_explain_bad_arguments_exit_1(trained, tmp_path, capsys):
    from engage.cli import run

    data, _ = trained
    assert run(["explain", str(data)]) == 1
    assert "pass --out" in capsys.readouterr().err
    assert run(["explain", "no such file.csv", "--out", str(tmp_path / "x.csv")]) == 1
    assert "no file" in capsys.readouterr().err
    assert run(["explain", "hello", "--top", "0"]) == 1
    assert run(["explain", "x" * 5000, "--top", "1"]) == 0  # too long for a file name: a text
