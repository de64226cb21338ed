"""The classifier head, trained on cached ELMo layer means. Where each idea lives:

- config.py: HeadConfig, what model.json records, and how an old or unknown config is read back;
- mlp.py: the seed's head (ScalarMix + Dense 256, Keras, in epochs) and why it equals the seed's trainable ELMo;
- linear.py: the linear ELMo branch (the shipped head): exact logistic regressions, no epochs;
- lexical_branch.py: the lexical branch over engage.lexical's hashed n-grams;
- stacking.py: why and how branches are combined on out-of-fold logits;
- layers.py: Keras layers both branches share, and HeadParts (a served head as numbers, for engage.explain);
- model.py: build / train / describe / read back as numbers (head_parts), whichever branch;
- serving.py: the head's inputs and batched prediction; weights.py: save and load.

The names below are imported on first use, so that reading a head's settings (engage.head.config: the CLI's help
shows HeadConfig's defaults) does not start Keras and TensorFlow.
"""

from importlib import import_module

_HOMES = {"ELMO_BRANCHES": "config", "RETIRED": "config", "HeadConfig": "config", "Settled": "config",
          "HeadParts": "layers", "Standardize": "layers", "ELMO_CS": "linear", "ScalarMix": "mlp", "Scale": "mlp",
          "build_head": "model", "describe": "model", "head_parts": "model", "settle_choices": "model",
          "share_work": "model", "train_head": "model", "head_inputs": "serving", "predict": "serving",
          "load_head": "weights", "save_head": "weights"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'engage.head' has no attribute {name!r}")
    return getattr(import_module(f"engage.head.{_HOMES[name]}"), name)
