"""Hashed word and character n-grams: lexical features that need no vocabulary, so nothing but the hashing
settings has to be stored with a model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import scipy.sparse as sp

from engage.tokens import bound_text

N_FEATURES = 2**18  # read by engage.head.config (and so the CLI's help) without loading scikit-learn


def lexical_features(texts: Sequence[str], n_features: int = N_FEATURES, scale: float = 1.0) -> sp.csr_matrix:
    """[word 1-2 grams | character 2-5 grams], each block hashed to n_features columns and L2-normalized, times
    scale (a larger scale is a larger effective learning rate for the weights that read these features). Each text
    is read up to engage.tokens.MAX_MESSAGE_CHARS, as every branch reads it."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

    texts = [bound_text(t)[0] for t in texts]
    words = HashingVectorizer(n_features=n_features, ngram_range=(1, 2), alternate_sign=False, dtype="float32")
    chars = HashingVectorizer(n_features=n_features, analyzer="char", ngram_range=(2, 5), alternate_sign=False,
                              dtype="float32")
    return (sp.hstack([words.transform(texts), chars.transform(texts)], format="csr") * scale).astype("float32")
