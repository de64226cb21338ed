import numpy as np
import pytest

from engage.errors import InputError
from engage.head import HeadConfig, ScalarMix, build_head, head_inputs, load_head, predict, save_head, train_head

rng = np.random.default_rng(1)
N, D = 300, 16
X = rng.standard_normal((N, 3, D)).astype(np.float32)
Y = (X[:, 2, :4].sum(axis=1) > 0).astype(np.int8)
TEXTS = [f"message {i} {'refund' if y else 'thanks'}" for i, y in enumerate(Y)]


def test_shape_is_the_seeds_dense_256_then_sigmoid():
    model = build_head(HeadConfig(), D)
    names = [layer.name for layer in model.layers]
    assert names == ["layers", "scalar_mix", "dense_hidden", "output"]
    assert model.get_layer("dense_hidden").units == 256
    assert model.count_params() == 4 + (D * 256 + 256) + 257  # 3 mix weights + gamma, then the seed's layers


def test_scalar_mix_is_gamma_times_softmax_weighted_layers():
    mix = ScalarMix()
    mix.build((None, 3, D))
    mix.w.assign([0.5, -1.0, 2.0])
    mix.gamma.assign(1.7)
    s = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
    np.testing.assert_allclose(np.asarray(mix(X[:5])), 1.7 * np.einsum("k,nkd->nd", s, X[:5]), rtol=1e-5)


def test_mean_of_the_mix_equals_the_mix_of_the_means():
    """Why training on cached layer means equals the seed's trainable module (see engage.head.mlp's docstring)."""
    tokens = rng.standard_normal((7, 3, D))  # one message: 7 tokens, 3 layers
    mix = ScalarMix()
    mix.build((None, 3, D))
    mix.w.assign([0.2, 0.3, -0.4])
    per_token = np.asarray(mix(tokens.astype(np.float32)))
    np.testing.assert_allclose(per_token.mean(axis=0), np.asarray(mix(tokens.mean(axis=0)[None].astype(np.float32)))[0],
                               rtol=1e-5, atol=1e-6)


def test_learns_and_same_seed_gives_same_model():
    cfg = HeadConfig(epochs=20, seed=3)
    m1, hist = train_head(cfg, {"layers": X}, Y)
    m2, _ = train_head(cfg, {"layers": X}, Y)
    assert hist["loss"][-1] < hist["loss"][0]
    p1, p2 = predict(m1, {"layers": X}), predict(m2, {"layers": X})
    np.testing.assert_array_equal(p1, p2)
    assert ((p1 >= 0.5) == Y).mean() > 0.85


def test_early_stopping_and_class_weights_run_on_a_validation_split():
    cfg = HeadConfig(epochs=30, early_stopping=True, patience=1, class_weight=True, learning_rate=0.05)
    _, hist = train_head(cfg, {"layers": X[:200]}, Y[:200], ({"layers": X[200:]}, Y[200:]))
    assert "val_loss" in hist and len(hist["loss"]) < 30


def test_lexical_branch_trains_jointly_and_round_trips(tmp_path):
    cfg = HeadConfig(epochs=3, lexical=True, lexical_features=2**12)
    inputs = head_inputs(cfg, X, TEXTS)
    model, _ = train_head(cfg, inputs, Y)
    assert "lexical_logit" in [layer.name for layer in model.layers]
    save_head(model, tmp_path / "head.weights.h5")
    again = load_head(cfg, D, tmp_path / "head.weights.h5")
    np.testing.assert_allclose(predict(model, inputs), predict(again, inputs), rtol=1e-6)


def test_weights_file_from_another_shape_is_refused(tmp_path):
    model, _ = train_head(HeadConfig(epochs=1), {"layers": X}, Y)
    save_head(model, tmp_path / "h.weights.h5")
    with pytest.raises(InputError, match="h.weights.h5"):
        load_head(HeadConfig(), D * 2, tmp_path / "h.weights.h5")


@pytest.fixture(scope="module")
def mlp_weights(tmp_path_factory):
    model, _ = train_head(HeadConfig(epochs=1), {"layers": X}, Y)
    path = tmp_path_factory.mktemp("head") / "mlp.weights.h5"
    save_head(model, path)
    return path


def test_a_weights_file_that_leaves_a_layer_unfilled_is_refused_naming_it(mlp_weights, tmp_path):
    """Keras loads what it finds and leaves the rest at its random start with only a warning ("Skipping nested
    container ... freshly-initialized weights"); a head must never score like that."""
    import shutil

    import h5py

    # A head with one more layer (the lexical branch) than the file holds.
    with pytest.raises(InputError, match=r"mlp.weights.h5: .*fills 6 of this head's 9 weights"):
        load_head(HeadConfig(lexical=True, lexical_features=2**8), D, mlp_weights)
    # The right head, from a file with one layer's weights gone.
    cut = tmp_path / "cut.weights.h5"
    shutil.copy(mlp_weights, cut)
    with h5py.File(cut, "a") as f:
        del f["layers/dense_1/vars"]
    with pytest.raises(InputError, match=r"cut.weights.h5: .*not in it"):
        load_head(HeadConfig(), D, cut)
    # A file with more than the head has (a standardized head's statistics) is another head's too.
    model, _ = train_head(HeadConfig(epochs=1, normalize=True), {"layers": X}, Y)
    save_head(model, tmp_path / "norm.weights.h5")
    with pytest.raises(InputError, match="norm.weights.h5: .*does not have"):
        load_head(HeadConfig(), D, tmp_path / "norm.weights.h5")


def test_standardized_head_round_trips_its_statistics(tmp_path):
    cfg = HeadConfig(epochs=2, normalize=True)
    scaled = X * 0.01 + 3.0  # small, offset outputs like a briefly pretrained biLM's
    model, _ = train_head(cfg, {"layers": scaled}, Y)
    np.testing.assert_allclose(model.get_layer("standardize").mean.numpy(), scaled.mean(axis=0), rtol=1e-5)
    save_head(model, tmp_path / "n.weights.h5")
    again = load_head(cfg, D, tmp_path / "n.weights.h5")
    np.testing.assert_allclose(predict(model, {"layers": scaled}), predict(again, {"layers": scaled}), rtol=1e-6)


def test_lexical_branch_is_the_exact_regression_and_the_blend_is_learned():
    from sklearn.linear_model import LogisticRegression

    from engage.lexical import lexical_features

    cfg = HeadConfig(epochs=2, lexical=True, lexical_features=2**12)
    model, _ = train_head(cfg, head_inputs(cfg, X, TEXTS), Y)
    features = lexical_features(TEXTS, 2**12)
    exact = LogisticRegression(C=cfg.lexical_c, max_iter=3000).fit(features, Y)
    kernel, bias = model.get_layer("lexical_logit").get_weights()
    np.testing.assert_allclose(kernel[:, 0], exact.coef_[0], atol=1e-4)
    assert model.get_layer("lexical_weight").a.numpy() != 1.0  # trained on out-of-fold logits


def _standardized(vectors: np.ndarray) -> np.ndarray:
    std = vectors.std(axis=0)
    return ((vectors - vectors.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)).reshape(len(vectors), -1)


def test_linear_head_is_two_exact_regressions_blended_on_out_of_fold_logits(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from engage.lexical import lexical_features

    cfg = HeadConfig(elmo_branch="linear", lexical=True, lexical_features=2**12)
    inputs = head_inputs(cfg, X, TEXTS)
    model, history = train_head(cfg, inputs, Y)
    c = history["elmo_c"][0]
    flat, features = _standardized(X), lexical_features(TEXTS, 2**12)
    elmo = LogisticRegression(C=c, solver="newton-cholesky").fit(flat, Y)
    lexical = LogisticRegression(C=cfg.lexical_c, max_iter=3000).fit(features, Y)
    np.testing.assert_allclose(model.get_layer("elmo_logit").get_weights()[0][:, 0], elmo.coef_[0], atol=1e-3)
    np.testing.assert_allclose(model.get_layer("lexical_logit").get_weights()[0][:, 0], lexical.coef_[0], atol=1e-4)
    folds = StratifiedKFold(cfg.lexical_folds, shuffle=True, random_state=cfg.seed)
    oof = np.column_stack([
        cross_val_predict(LogisticRegression(C=c, solver="newton-cholesky"), flat, Y, cv=folds,
                          method="decision_function"),
        cross_val_predict(LogisticRegression(C=cfg.lexical_c, max_iter=3000), features, Y, cv=folds,
                          method="decision_function")])
    blend = LogisticRegression(C=1.0).fit(oof, Y)
    # L-BFGS stops at its tolerance, and the head runs it in the rows' coordinates (engage.head.lexical_branch):
    # the same optimum, reached to within that tolerance, so the blend agrees to 1%, not to float precision.
    np.testing.assert_allclose(model.get_layer("blend").get_weights()[0][:, 0], blend.coef_[0], rtol=1e-2)
    # Serving is exactly sigmoid(blend(elmo logit, lexical logit)).
    logits = np.column_stack([elmo.decision_function(flat), lexical.decision_function(features)])
    np.testing.assert_allclose(predict(model, inputs), blend.predict_proba(logits)[:, 1], atol=1e-3)
    save_head(model, tmp_path / "linear.weights.h5")
    again = load_head(cfg, D, tmp_path / "linear.weights.h5")
    np.testing.assert_allclose(predict(again, inputs), predict(model, inputs), rtol=1e-6)


def test_linear_head_alone_picks_c_by_cross_validation_and_repeats_itself():
    from engage.head import ELMO_CS

    cfg = HeadConfig(elmo_branch="linear")
    m1, h1 = train_head(cfg, {"layers": X}, Y)
    m2, _ = train_head(cfg, {"layers": X}, Y)
    assert h1["elmo_c"][0] in ELMO_CS
    np.testing.assert_array_equal(predict(m1, {"layers": X}), predict(m2, {"layers": X}))
    assert ((predict(m1, {"layers": X}) >= 0.5) == Y).mean() > 0.9
    _, fixed = train_head(HeadConfig(elmo_branch="linear", elmo_c=0.5), {"layers": X}, Y)
    assert fixed["elmo_c"] == [0.5]


def test_an_unknown_elmo_branch_is_refused():
    with pytest.raises(ValueError, match="elmo_branch"):
        HeadConfig.from_json({"elmo_branch": "transformer"})


@pytest.mark.parametrize("branch", ["mlp", "linear"])
def test_a_handful_of_labels_trains_with_fewer_folds_and_one_of_a_class_is_refused(branch):
    from engage.errors import InputError

    cfg = HeadConfig(epochs=1, elmo_branch=branch, lexical=True, lexical_features=2**10)
    few = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=np.int8)  # 3 of one class: 3 folds, not 5
    model, _ = train_head(cfg, head_inputs(cfg, X[:8], TEXTS[:8]), few)
    assert predict(model, head_inputs(cfg, X[:8], TEXTS[:8])).shape == (8,)
    one = np.array([1, 0, 0, 0, 0, 0, 0, 0], dtype=np.int8)
    with pytest.raises(InputError, match="at least 2 messages of each class"):
        train_head(cfg, head_inputs(cfg, X[:8], TEXTS[:8]), one)


def test_one_registry_names_the_branches_and_says_which_train_in_epochs():
    from engage.cli import build_parser
    from engage.head import ELMO_BRANCHES
    from engage.head.model import BRANCHES

    assert set(BRANCHES) == set(ELMO_BRANCHES)
    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    choices = next(a.choices for a in train._actions if a.dest == "elmo_branch")
    assert set(choices) == set(ELMO_BRANCHES)
    assert HeadConfig().trains_in_epochs and not HeadConfig(elmo_branch="linear").trains_in_epochs


def test_the_shipped_config_reads_back_whole():
    import json

    from engage.config import PROJECT_ROOT

    stored = json.loads((PROJECT_ROOT / "models" / "engage-default" / "model.json").read_text())["head"]["config"]
    config = HeadConfig.from_json(stored, source="model.json")
    assert config.to_json() == stored  # every key understood, none dropped
    assert config.elmo_branch == "linear" and config.lexical and not config.trains_in_epochs


def test_a_config_written_by_the_first_version_loads_with_todays_defaults():
    # HeadConfig.to_json() as the first engage (commit ba094ac) wrote it: no lexical_scale, lexical_c,
    # lexical_folds, normalize, elmo_branch, elmo_c; and lexical_l2, retired since.
    first = {"epochs": 5, "batch_size": 32, "learning_rate": 0.001, "hidden": 256, "l2": 0.01, "dropout": 0.0,
             "early_stopping": False, "patience": 2, "class_weight": False, "seed": 0, "lexical": False,
             "lexical_l2": 1e-05, "lexical_features": 262144, "extra": {}}
    config = HeadConfig.from_json(first, source="old/model.json")
    today = HeadConfig()
    assert config == today
    assert "lexical_l2" not in config.to_json()
    model, _ = train_head(HeadConfig(epochs=1), {"layers": X}, Y)  # its weights still fit the head it builds
    assert [layer.name for layer in build_head(config, D).layers] == [layer.name for layer in model.layers]


def test_an_unknown_key_is_refused_naming_it_and_the_file():
    from engage.errors import InputError

    with pytest.raises(InputError, match=r"some/model\.json: .*unknown key 'elmo_layers'") as caught:
        HeadConfig.from_json({"epochs": 3, "elmo_layers": 2}, source="some/model.json")
    assert "elmo_branch" in str(caught.value)  # says what it does know
    with pytest.raises(InputError, match="not an object"):
        HeadConfig.from_json(["epochs"], source="some/model.json")


def test_the_lexical_rows_coordinates_are_an_isometry_even_with_repeated_messages():
    from engage.head.lexical_branch import RowSpace
    from engage.lexical import lexical_features

    texts = TEXTS[:40] + TEXTS[:5]  # repeated messages: the rows' Gram matrix is singular
    features = lexical_features(texts, 2**10)
    space = RowSpace(features)
    dense = features.toarray().astype(np.float64)
    assert space.z.shape == (45, np.linalg.matrix_rank(dense))
    np.testing.assert_allclose(space.z @ space.z.T, dense @ dense.T, atol=1e-10)
    u = rng.standard_normal(space.z.shape[1])
    w = space.weights(u)
    np.testing.assert_allclose(dense @ w, space.z @ u, atol=1e-8)  # the same logits
    np.testing.assert_allclose(np.linalg.norm(w), np.linalg.norm(u), rtol=1e-8)  # the same L2 penalty


def test_settled_choices_and_shared_work_give_the_head_train_would_fit():
    from engage.head import settle_choices, share_work

    cfg = HeadConfig(elmo_branch="linear", lexical=True, lexical_features=2**12)
    inputs = head_inputs(cfg, X, TEXTS)
    own, _ = train_head(cfg, inputs, Y)
    shared = share_work(cfg, inputs)
    settled = settle_choices(cfg, shared, Y)
    assert settled.config.elmo_c is not None and settled.blend is not None
    # The blend is a choice of one training run: it lives with the run (Settled), never in HeadConfig or model.json.
    assert "blend" not in HeadConfig.__dataclass_fields__ and "blend" not in settled.config.to_json()
    head, _ = train_head(settled, shared, Y)
    # The same fits (same folds, same starts); the blend is the one train() fits, reached by the same steps.
    np.testing.assert_allclose(predict(head, inputs), predict(own, inputs), atol=1e-6)
    # A subset's fit in the shared row space (sliced) is the fit in its own row space: the same optimum.
    rows = np.arange(0, N, 2)
    part = {k: v[rows] for k, v in shared.items()}
    alone, _ = train_head(settled, {k: inputs[k][rows] for k in inputs}, Y[rows])
    sliced, _ = train_head(settled, part, Y[rows])
    np.testing.assert_allclose(predict(sliced, inputs), predict(alone, inputs), atol=1e-3)


def test_the_head_package_alone_knows_its_layers_and_explain_asks_it_for_the_numbers():
    """Changing a head is a change to engage/head/ only: explain.py names none of its layers, and
    head_parts (read by the branch that built the head) gives back exactly what the head serves."""
    from itertools import product

    from engage.config import PROJECT_ROOT
    from engage.head import head_parts

    explain_src = (PROJECT_ROOT / "engage" / "explain.py").read_text(encoding="utf-8")
    assert "get_layer" not in explain_src and "get_weights" not in explain_src
    for branch, lexical, normalize in product(("mlp", "linear"), (False, True), (False, True)):
        cfg = HeadConfig(elmo_branch=branch, lexical=lexical, normalize=normalize, epochs=1, lexical_features=2**8)
        head, _ = train_head(cfg, head_inputs(cfg, X, TEXTS), Y)
        parts = head_parts(head, cfg)
        logit = parts.bias + parts.a_elmo * parts.elmo_logits(X)
        if lexical:
            from engage.lexical import lexical_features

            features = lexical_features(TEXTS, cfg.lexical_features, cfg.lexical_scale)
            logit = logit + parts.a_lex * (features @ parts.lex_w + parts.lex_b)
        np.testing.assert_allclose(1 / (1 + np.exp(-logit)), predict(head, head_inputs(cfg, X, TEXTS)), atol=1e-5)
