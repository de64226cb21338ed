"""Why this score: each token's signed contribution to a message's logit, for a loaded classifier.

The head's logit is a blend of branch logits (engage.head.stacking): logit = bias + a_elmo * elmo + a_lex * lexical
(the seed MLP head: a_elmo = 1, a_lex its learned lexical weight; a head without the lexical branch: a_lex = 0). A
token's contribution is the same blend of its contributions to each branch, so the parts add up the way the head
adds them. Two methods, one per branch:

- Lexical branch: exact. It is linear in its features, lexical = b + sum_j w_j x_j, so each n-gram occurrence
  contributes w_j x_j / (its occurrences) and that is spread over the tokens it covers, in proportion to the
  characters of each token it spans (a character n-gram across a word boundary is shared by both words; a word
  bigram by its two words). intercept + sum of contributions == the branch's logit, to float precision.
- ELMo branch (linear or the seed's MLP): occlusion, c_i = elmo(message) - elmo(message without token i). The
  branch reads ELMo's layer means, which are contextual: a word's effect includes what it does to its neighbours'
  vectors, and only re-encoding without it measures that. Occlusion is also exactly what the faithfulness measures
  (bench/explain.py: comprehensiveness and sufficiency remove tokens) and an analyst's "what if this word were
  gone" ask, and it needs nothing but Encoder.layer_means, so it works the same for our biLM and a TF Hub ELMo
  (whose token inputs are strings: there is no gradient to integrate). Integrated gradients would need the biLM's
  character-CNN inputs and 20-50 passes per message; occlusion needs one encoder call per message (its n variants,
  batched). Occlusion terms need not add up to the logit: what they leave (the branch's bias and interactions
  between words) is reported as the ELMo branch's `rest`, so base + sum(contributions) == logit always holds.

Tokens are engage.tokens' (the encoder's); tokens past the encoder's max_tokens are never seen by ELMo, so their
ELMo contribution is 0 and they are not re-encoded. An empty message scores 0 (as in scoring) and has no tokens.

The embedding cache: the message itself is looked up and stored as scoring would (so its score equals the scored
table's), but its occlusion variants bypass the cache: n variants per message explained, each a [3, D] vector,
would grow the user's cache about n-fold for texts that are never scored again.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

import numpy as np

from engage import thresholds
from engage.cache import text_key
from engage.errors import InputError
from engage.head import HeadParts, head_parts
from engage.lexical import lexical_features
from engage.tokens import bound_texts, char_batches, token_spans

# sklearn's HashingVectorizer defaults, which engage.lexical uses: words are \w\w+ runs of the lowercased text, and
# the character analyzer collapses whitespace runs to one space before taking n-grams.
_SK_WORD = re.compile(r"(?u)\b\w\w+\b")
_SK_SPACES = re.compile(r"\s\s+")
WORD_NGRAMS, CHAR_NGRAMS = (1, 2), (2, 5)  # as engage.lexical.lexical_features
# Characters of message text explained at once: each character is about 5 n-gram occurrences held with their
# positions (a few hundred bytes each), so about 200 MB at most.
BATCH_CHARS = 200_000
VARIANTS_PER_CALL = 4096  # occlusion variants per encoder call when many messages are explained at once
# The columns `explain_file` adds to the scored columns: each row's top words for and against engageable.
FOR_COL, AGAINST_COL = "words_for", "words_against"


@dataclass
class Explanation:
    """One message explained. contributions = elmo + lexical, each already times its blend weight, per token."""

    text: str
    tokens: list[str]
    spans: list[tuple[int, int]]     # each token's [start, end) in text
    contributions: np.ndarray        # float64 [n_tokens], blend-weighted, to the logit
    elmo: np.ndarray                 # float64 [n_tokens], blend-weighted ELMo part (occlusion)
    lexical: np.ndarray              # float64 [n_tokens], blend-weighted lexical part (exact); zeros without it
    logit: float
    base: float                      # logit - sum(contributions): the bias plus what occlusion leaves
    score: float
    threshold: float
    parts: dict = field(default_factory=dict)  # per branch: method, weight, logit, sum, intercept or rest
    truncated: bool = False          # text is the message's first MAX_MESSAGE_CHARS characters; the rest was unread

    @property
    def total(self) -> float:
        return float(self.contributions.sum())

    @property
    def flagged(self) -> bool:
        return bool(thresholds.flagged(self.score, self.threshold))

    def top(self, k: int = 5, sign: int = 0) -> list[tuple[str, float]]:
        """The k tokens with the largest |contribution| (sign 0), or the largest for (+1) / against (-1)."""
        order = np.argsort(-(np.abs(self.contributions) if sign == 0 else sign * self.contributions), kind="stable")
        picked = [i for i in order if sign == 0 or sign * self.contributions[i] > 0][:k]
        return [(self.tokens[i], float(self.contributions[i])) for i in picked]

    def to_json(self) -> dict:
        return {"text": self.text, "truncated": self.truncated, "score": self.score, "threshold": self.threshold,
                "engageable": self.flagged,
                "logit": self.logit, "base": self.base, "sum": self.total, "parts": self.parts,
                "tokens": [{"token": t, "start": s, "end": e, "contribution": float(c), "elmo": float(el),
                            "lexical": float(lx)}
                           for t, (s, e), c, el, lx in zip(self.tokens, self.spans, self.contributions, self.elmo,
                                                           self.lexical, strict=True)]}


def explain(clf, texts: list[str]) -> list[Explanation]:
    """Explanations for texts under clf (an engage.scoring.Classifier: encoder, config, head, threshold, cache).
    Deterministic: the same model and texts give the same numbers. Each text is explained as the model reads it,
    its first MAX_MESSAGE_CHARS characters (Explanation.truncated says when that cut it), BATCH_CHARS of them at a
    time, so the n-gram occurrences held at once stay bounded whatever the messages' length."""
    texts, cut = bound_texts(list(texts))
    out: list[Explanation] = []
    for start, stop in char_batches(texts, BATCH_CHARS):
        out.extend(_explain(clf, texts[start:stop]))
    for ex, was_cut in zip(out, cut, strict=True):
        ex.truncated = was_cut
    return out


def _explain(clf, texts: list[str]) -> list[Explanation]:
    heads = parts_of(clf.head, clf.config)
    spans = [token_spans(t) for t in texts]
    elmo_full, elmo_parts = _elmo_branch(clf, heads, texts, spans)
    if clf.config.lexical:
        lex_parts, lex_logits = lexical_contributions(texts, spans, heads.lex_w, heads.lex_b,
                                                      clf.config.lexical_features, clf.config.lexical_scale)
    else:
        lex_parts, lex_logits = [np.zeros(len(s)) for s in spans], np.zeros(len(texts))
    out = []
    for i, text in enumerate(texts):
        out.append(_assemble(text, spans[i], heads, float(elmo_full[i]), elmo_parts[i], float(lex_logits[i]),
                             lex_parts[i], clf.threshold, lexical=clf.config.lexical))
    return out


def top_words(ex: Explanation, k: int, sign: int) -> str:
    """"refund +1.23; order +0.80": the k tokens pushing hardest for (sign +1) or against (-1) engageable."""
    return "; ".join(f"{token} {value:+.2f}" for token, value in ex.top(k, sign))


def explain_file(clf, in_path, out_path, *, text_col: str | None = None, top: int = 3,
                 chunk_size: int = 500) -> dict:
    """Read, explain, write, chunk by chunk: the scored columns (engage.scoring's contract) plus FOR_COL and
    AGAINST_COL, written whole or not at all (engage.outputs.TableWriter)."""
    from engage.outputs import TableWriter
    from engage.reading import iter_messages
    from engage.scoring import FLAG_COL, scored_frame

    if chunk_size < 1 or top < 1:
        raise InputError(f"the chunk size and the number of top words must be at least 1, got {chunk_size} and {top}")
    summary = {"rows": 0, "flagged": 0}
    with TableWriter(out_path) as writer:
        for chunk in iter_messages(in_path, chunk_size=chunk_size, text_col=text_col, detect_labels=False):
            explained = explain(clf, chunk.texts)
            frame = scored_frame(chunk, np.array([e.score for e in explained]), clf.threshold)
            frame[FOR_COL] = [top_words(e, top, +1) for e in explained]
            frame[AGAINST_COL] = [top_words(e, top, -1) for e in explained]
            summary["rows"] += len(frame)
            summary["flagged"] += int(frame[FLAG_COL].sum())
            writer.write(frame)
    return summary | {"threshold": clf.threshold, "model": clf.name, "output": str(out_path)}


def _assemble(text, spans, heads: HeadParts, elmo_logit, elmo_c, lex_logit, lex_c, threshold, lexical) -> Explanation:
    contributions = heads.a_elmo * elmo_c + heads.a_lex * lex_c
    logit = heads.bias + heads.a_elmo * elmo_logit + heads.a_lex * lex_logit
    parts = {"bias": heads.bias,
             "elmo": {"method": "occlusion", "weight": heads.a_elmo, "logit": elmo_logit,
                      "sum": float(elmo_c.sum()), "rest": elmo_logit - float(elmo_c.sum())}}
    if lexical:
        parts["lexical"] = {"method": "exact", "weight": heads.a_lex, "logit": lex_logit, "intercept": heads.lex_b,
                            "sum": float(lex_c.sum())}
    empty = not text.strip()
    return Explanation(text=text, tokens=[t for t, _, _ in spans], spans=[(s, e) for _, s, e in spans],
                       contributions=contributions, elmo=heads.a_elmo * elmo_c, lexical=heads.a_lex * lex_c,
                       logit=logit, base=logit - float(contributions.sum()),
                       score=0.0 if empty else float(1.0 / (1.0 + np.exp(-logit))), threshold=float(threshold),
                       parts=parts)


def without_tokens(text: str, spans: list[tuple[int, int]] | list[tuple[str, int, int]], drop: set[int]) -> str:
    """text with the tokens at indices `drop` cut out, each replaced by one space (so its neighbours never merge
    into one token); the rest of the text, spacing included, is kept. What the faithfulness measures score."""
    pieces, pos = [], 0
    for i, span in enumerate(spans):
        start, end = span[-2], span[-1]
        if i in drop:
            pieces.append(text[pos:start] + " ")
            pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


# ---- the ELMo branch: occlusion -------------------------------------------------------------------------------

def occlusion_variants(tokens: list[str], max_tokens: int) -> list[str]:
    """The message without token i, for each i the encoder sees (the first max_tokens), as the encoder would see
    it: tokens joined by spaces re-tokenize to themselves, and removing one lets token max_tokens in."""
    seen = min(len(tokens), max_tokens)
    return [" ".join(tokens[:i] + tokens[i + 1:max_tokens + 1]) for i in range(seen)]


def _elmo_branch(clf, heads: HeadParts, texts: list[str],
                 spans: list[list[tuple[str, int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """(each message's ELMo logit, its tokens' occlusion terms elmo(message) - elmo(message without token i)).

    Messages the cache lacks are encoded in the same encoder call as the variants (and stored, as scoring would);
    the variants bypass the cache (module docstring)."""
    encoder, cache = clf.encoder, clf.cache
    found = cache.get_many(encoder.fingerprint, texts) if cache is not None else {}
    missing = list(dict.fromkeys(t for t in texts if text_key(t) not in found))
    per_message = [occlusion_variants([t for t, _, _ in message], encoder.max_tokens) for message in spans]
    batch = missing + [v for vs in per_message for v in vs]
    logits = np.zeros(len(batch))
    computed = []
    for start in range(0, len(batch), VARIANTS_PER_CALL):
        vectors = encoder.layer_means(batch[start:start + VARIANTS_PER_CALL])
        logits[start:start + len(vectors)] = heads.elmo_logits(vectors)
        computed.append(vectors[:max(0, len(missing) - start)])
    if missing:
        fresh = np.concatenate(computed)
        if cache is not None:
            cache.put_many(encoder.fingerprint, missing, fresh)
        found.update(zip((text_key(t) for t in missing), fresh, strict=True))
    full = heads.elmo_logits(np.stack([found[text_key(t)] for t in texts])) if texts else np.zeros(0)
    out, k = [], len(missing)
    for m, (message, vs) in enumerate(zip(spans, per_message, strict=True)):
        c = np.zeros(len(message))
        c[:len(vs)] = full[m] - logits[k:k + len(vs)]
        k += len(vs)
        out.append(c)
    return full, out


# ---- the lexical branch: exact ---------------------------------------------------------------------------------

def lexical_contributions(texts: list[str], spans: list[list[tuple[str, int, int]]], weights: np.ndarray,
                          intercept: float, n_features: int, scale: float) -> tuple[list[np.ndarray], np.ndarray]:
    """(per text, each token's exact contribution to the lexical logit; per text, that logit computed from the
    features engage.lexical gives). intercept + contributions.sum() == logit for every text.

    Each feature's w_j x_j is split evenly among the n-gram occurrences that hash to column j, and each
    occurrence's share among the tokens it covers by characters. A column no occurrence maps to (which would mean
    this module and sklearn disagree on the n-grams) is left in the logit, not dropped silently: the test checks it."""
    from sklearn.feature_extraction import FeatureHasher

    x = lexical_features(texts, n_features, scale).astype(np.float64)
    logits = intercept + x @ weights
    occurrences = [_occurrences(t) for t in texts]
    grams = [g for occ in occurrences for g, _, _ in occ]
    hasher = FeatureHasher(n_features=n_features, input_type="string", alternate_sign=False)
    columns = hasher.transform([[g] for g in grams]).indices if grams else np.zeros(0, int)
    out, k = [], 0
    for t, (text, occ) in enumerate(zip(texts, occurrences, strict=True)):
        cols = columns[k:k + len(occ)] + np.array([0 if block == 0 else n_features for _, block, _ in occ], int)
        k += len(occ)
        out.append(_spread(text, spans[t], occ, cols, x[t], weights))
    return out, np.asarray(logits).reshape(-1)


def _spread(text: str, spans, occ, cols: np.ndarray, row, weights: np.ndarray) -> np.ndarray:
    """Each occurrence's share of its column's w_j x_j, spread over the tokens by the characters it spans."""
    contrib = np.zeros(len(spans))
    if not occ:
        return contrib
    owner = np.full(len(text), -1)
    for i, (_, s, e) in enumerate(spans):
        owner[s:e] = i
    columns, inverse, counts = np.unique(cols, return_inverse=True, return_counts=True)
    order = np.argsort(row.indices)
    held, data = row.indices[order], row.data[order]
    at = np.minimum(np.searchsorted(held, columns), max(len(held) - 1, 0))
    values = np.where(held[at] == columns, data[at], 0.0) if len(held) else np.zeros(len(columns))
    share = weights[cols] * values[inverse] / counts[inverse]  # per occurrence: w_j x_j / occurrences of j
    lengths = np.array([len(chars) for _, _, chars in occ])
    which = np.repeat(np.arange(len(occ)), lengths)           # per spanned character: its occurrence
    who = owner[np.concatenate([chars for _, _, chars in occ])]
    real = who >= 0
    per_char = np.bincount(which[real], minlength=len(occ))   # token characters per occurrence
    part = share[which[real]] / per_char[which[real]]
    return contrib + np.bincount(who[real], weights=part, minlength=len(spans))


def _occurrences(text: str) -> list[tuple[str, int, np.ndarray]]:
    """(n-gram, block 0 words / 1 characters, the original character positions it spans), exactly the n-grams
    sklearn's analyzers give engage.lexical (lowercased; characters after collapsing whitespace runs)."""
    lowered, where = _lowered(text)
    out: list[tuple[str, int, np.ndarray]] = []
    words = [(m.group(), where[m.start():m.end()]) for m in _SK_WORD.finditer(lowered)]
    for n in range(WORD_NGRAMS[0], WORD_NGRAMS[1] + 1):
        for i in range(len(words) - n + 1):
            out.append((" ".join(w for w, _ in words[i:i + n]), 0,
                        np.concatenate([p for _, p in words[i:i + n]])))
    collapsed, keep = _collapse(lowered)
    at = where[keep]
    for n in range(CHAR_NGRAMS[0], min(CHAR_NGRAMS[1], len(collapsed)) + 1):
        for i in range(len(collapsed) - n + 1):
            out.append((collapsed[i:i + n], 1, at[i:i + n]))
    return out


def _lowered(text: str) -> tuple[str, np.ndarray]:
    """(text.lower(), for each of its characters the original position). A character whose lowercase is longer
    (İ) maps all its pieces to itself; sklearn lowercases the whole text, so that is the string used."""
    where = np.array([k for k, ch in enumerate(text) for _ in ch.lower()], dtype=int)
    lowered = text.lower()
    if len(lowered) != len(where):  # cannot happen for str.lower, which maps characters one to many
        lowered = "".join(ch.lower() for ch in text)
    return lowered, where


def _collapse(s: str) -> tuple[str, np.ndarray]:
    """(s with whitespace runs as one space, as sklearn's char analyzer does; each kept character's index in s)."""
    pieces, keep, pos = [], [], 0
    for m in _SK_SPACES.finditer(s):
        pieces.append(s[pos:m.start()] + " ")
        keep.extend(range(pos, m.start() + 1))
        pos = m.end()
    pieces.append(s[pos:])
    keep.extend(range(pos, len(s)))
    return "".join(pieces), np.asarray(keep, dtype=int)


# ---- the head's weights, as numbers ----------------------------------------------------------------------------

_PARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # served head -> (its config, HeadParts)


def parts_of(head, config) -> HeadParts:
    """engage.head.head_parts(head, config), read once per loaded head: a served head's weights never change after
    loading (a retrained version is a new head), and reading 2 x 2^18 lexical weights is a tenth of a short
    explanation."""
    try:
        held = _PARTS.get(head)
    except TypeError:  # not weak-referenceable: read it every time
        return head_parts(head, config)
    if held is None or held[0] is not config:
        held = _PARTS[head] = (config, head_parts(head, config))
    return held[1]
