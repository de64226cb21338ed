"""The classifier head, trained on cached ELMo layer means. Where each idea lives:

- config.py: HeadConfig, what model.json records, and how an old or unknown config is read back;
- mlp.py: the seed's head (ScalarMix + Dense 256, Keras, in epochs) and why it equals the seed's trainable ELMo;
- linear.py: the linear ELMo branch (the shipped head): exact logistic regressions, no epochs;
- lexical_branch.py: the lexical branch over engage.lexical's hashed n-grams;
- stacking.py: why and how branches are combined on out-of-fold logits;
- layers.py: Keras layers both branches share, and HeadParts (a served head as numbers, for engage.explain);
- model.py: build / train / describe / read back as numbers (head_parts), whichever branch;
- serving.py: the head's inputs and batched prediction; weights.py: save and load.
"""

from engage.head.config import ELMO_BRANCHES, RETIRED, HeadConfig, Settled
from engage.head.layers import HeadParts, Standardize
from engage.head.linear import ELMO_CS
from engage.head.mlp import ScalarMix, Scale
from engage.head.model import build_head, describe, head_parts, settle_choices, share_work, train_head
from engage.head.serving import head_inputs, predict
from engage.head.weights import load_head, save_head

__all__ = ["ELMO_BRANCHES", "ELMO_CS", "RETIRED", "HeadConfig", "HeadParts", "Scale", "ScalarMix", "Settled",
           "Standardize", "build_head", "describe", "head_inputs", "head_parts", "load_head", "predict", "save_head",
           "settle_choices", "share_work", "train_head"]
