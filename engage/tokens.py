"""One tokenizer for every encoder, for pretraining and for scoring, so that both see the same tokens."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# URLs, @mentions and #hashtags stay whole; words keep inner apostrophes and hyphens; every other
# non-space character is a token of its own (ELMo was trained on tokenized text, punctuation split off).
_TOKEN = re.compile(r"https?://\S+|[@#]?\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) for each token of tokenize(text), in order: where each token sits in the text."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text or "")]


def truncated(texts: Sequence[str], max_tokens: int) -> np.ndarray:
    """bool per text: it has more tokens than an encoder reading max_tokens of them sees (the rest is cut)."""
    return np.array([len(tokenize(t)) > max_tokens for t in texts], dtype=bool)
