"""One tokenizer for every encoder, for pretraining and for scoring, so that both see the same tokens; and the one
bound on how much of a message any branch of the model reads (MAX_MESSAGE_CHARS)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# URLs, @mentions and #hashtags stay whole; words keep inner apostrophes and hyphens; every other
# non-space character is a token of its own (ELMo was trained on tokenized text, punctuation split off).
_TOKEN = re.compile(r"https?://\S+|[@#]?\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)

# Every branch (ELMo, the lexical n-grams, explanations, the language check) reads at most this many characters of
# a message; the rest is noted as truncated, as the tokens past ELMo's max_tokens are. Without a bound, the
# character n-grams of one 20 MB message took gigabytes. 10,000 characters is far more than a tweet, a review or
# an ordinary e-mail (ELMo itself reads the first 64 tokens, a few hundred characters), and keeps any message's
# cost small: about 40,000 character n-grams.
MAX_MESSAGE_CHARS = 10_000


def bound_text(text: str) -> tuple[str, bool]:
    """(the part of text the model reads: its first MAX_MESSAGE_CHARS characters, whether anything was cut)."""
    text = text or ""
    if len(text) <= MAX_MESSAGE_CHARS:
        return text, False
    return text[:MAX_MESSAGE_CHARS], True


def bound_texts(texts: Sequence[str]) -> tuple[list[str], list[bool]]:
    """bound_text for each text: (the bounded texts, per text whether it was cut)."""
    pairs = [bound_text(t) for t in texts]
    return [t for t, _ in pairs], [cut for _, cut in pairs]


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) for each token of tokenize(text), in order: where each token sits in the text."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text or "")]


def message_tokens(text: str, max_tokens: int) -> tuple[list[str], bool]:
    """The tokens an encoder reads of a message (of its bounded text, at most max_tokens), and whether any of the
    message was left unread (past MAX_MESSAGE_CHARS or past max_tokens)."""
    bounded, cut = bound_text(text)
    tokens = tokenize(bounded)
    return tokens[:max_tokens], cut or len(tokens) > max_tokens


def char_batches(texts: list[str], budget: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of consecutive texts, each holding at most budget characters of bounded text (a range
    holds one text at least)."""
    ranges, start, held = [], 0, 0
    for i, text in enumerate(texts):
        size = min(len(text or ""), MAX_MESSAGE_CHARS)
        if i > start and held + size > budget:
            ranges.append((start, i))
            start, held = i, 0
        held += size
    if start < len(texts):
        ranges.append((start, len(texts)))
    return ranges


def truncated(texts: Sequence[str], max_tokens: int) -> np.ndarray:
    """bool per text: some of it is left unread by an encoder reading max_tokens tokens of its bounded text."""
    return np.array([message_tokens(t, max_tokens)[1] for t in texts], dtype=bool)
