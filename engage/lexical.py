"""Hashed word and character n-grams: lexical features that need no vocabulary, so nothing but the hashing
settings has to be stored with a model."""

from __future__ import annotations

from collections.abc import Sequence

import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**18


def lexical_features(texts: Sequence[str], n_features: int = N_FEATURES) -> sp.csr_matrix:
    """Word 1-2 grams and character 2-5 grams (within word boundaries), each block L2-normalized, float32."""
    words = HashingVectorizer(n_features=n_features, ngram_range=(1, 2), alternate_sign=False,
                              lowercase=True, token_pattern=r"(?u)[@#]?\b\w+\b", dtype="float32")
    chars = HashingVectorizer(n_features=n_features, analyzer="char_wb", ngram_range=(2, 5),
                              alternate_sign=False, lowercase=True, dtype="float32")
    texts = list(texts)
    # Both blocks share one hashed space; the sum keeps the width fixed and collisions are rare at 2**18.
    return (words.transform(texts) + chars.transform(texts)).tocsr()
