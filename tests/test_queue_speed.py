"""The label search panel's fast paths (issue 23, bench/label_queue.py) against plain per-row versions of the same
rules on small data: the masks and term patterns of engage/labels/search.py, the numpy neighbour search of
engage/similar.py, and the embedding cache's one-array read (engage/cache.py)."""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pandas as pd
import regex

from engage.cache import EmbeddingCache, text_key
from engage.labels.db import snapshot
from engage.labels.search import _TERMS, SearchQuery, set_state
from engage.similar import build_index, neighbours

WORDS = ["refund", "Refunds", "prefund", "late", "again", "café", "#refund", "re-fund", "order 12345", "never",
         "arrived", "naïve", "LATE", "\n", "!!", "_late", "order", "1234"]


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{i} " + " ".join(rng.choice(WORDS, size=int(rng.integers(1, 7)))) for i in range(n)]


def _slow_term(term: str) -> str:
    """The term rule as first written: a lookbehind, then the words with non-word characters between them."""
    return r"(?<!\w)" + r"\W+".join(re.escape(w) for w in term.lower().split())


def _expected(texts: list[str], ids: list[int], state, query: SearchQuery) -> list[int]:
    """The query's rules message by message, in plain Python."""
    out = []
    for text, mid in zip(texts, ids, strict=True):
        row = state.loc[mid] if mid in state.index else None
        score = None if row is None or pd.isna(row["score"]) else row["score"]
        n = 0 if row is None or pd.isna(row["labels"]) else row["labels"]
        yes = 0 if row is None or pd.isna(row["engageable"]) else row["engageable"]
        predicted = "no score" if score is None else "engageable" if score >= row["threshold"] else "not engageable"
        status = "unlabeled" if n == 0 else "disputed" if 0 < yes < n else "labeled"
        terms = [(m.group(1) or m.group(3), m.group(2) if m.group(2) is not None else m.group(4))
                 for m in _TERMS.finditer(query.words)]
        keep = (query.score_min is None or (score is not None and score >= query.score_min)) and \
            (query.score_max is None or (score is not None and score <= query.score_max)) and \
            (not query.predicted or predicted in query.predicted) and (not query.status or status in query.status) \
            and all(bool(re.search(_slow_term(term), text.lower())) != bool(minus) for minus, term in terms) \
            and (not query.pattern or regex.search(query.pattern, text, regex.IGNORECASE | regex.V0))
        if keep:
            out.append(mid)
    return out


QUERIES = [
    SearchQuery(words="refund"), SearchQuery(words="late -refund"), SearchQuery(words='"late again" -café'),
    SearchQuery(words="#refund"), SearchQuery(words="re-fund naïve"), SearchQuery(words='"order 12345"'),
    SearchQuery(pattern=r"^\d+ late"), SearchQuery(pattern=r"order \d{5}$"),
    SearchQuery(score_min=0.3, score_max=0.7), SearchQuery(predicted=("engageable", "no score")),
    SearchQuery(status=("disputed",)), SearchQuery(status=("unlabeled", "labeled"), predicted=("not engageable",)),
    SearchQuery(words="late", pattern="again", score_min=0.2, status=("unlabeled",)),
]


def test_the_fast_search_keeps_the_rules_message_by_message(store):
    texts = _texts(120, seed=3)
    set_id = store.import_messages("fast.csv", texts)
    ids = store.messages(set_id)["message_id"].tolist()
    rng = np.random.default_rng(4)
    store.store_scores(set_id, "m", dict(zip(ids[:100], rng.random(100).tolist(), strict=True)), 0.5)
    store.bulk_label(set_id, ids[10:40:2], "ana", 1)
    store.bulk_label(set_id, ids[11:40:2], "ana", 0)
    store.bulk_label(set_id, ids[30:60], "bo", 1)  # ids 31, 33, ... 39: disputed
    store.label(ids[70], "cy", 0, set_id=set_id)
    with snapshot(store.engine) as conn:
        state = set_state(conn, set_id, "ana")
    texts_once = store.set_texts(set_id)
    for query in QUERIES:
        found = store.search(set_id, query, "ana", texts=texts_once).frame
        assert found["message_id"].tolist() == _expected(texts, ids, state, query), query
        assert len(found), query  # each query finds something: the comparison is not between two empty lists


def test_the_literal_first_term_pattern_matches_as_the_lookbehind_did():
    from engage.labels.search import _term_regex

    texts = [t.lower() for t in _texts(400, seed=5)] + ["refund", "xrefund", "érefund", "_refund", "a\nrefund"]
    for term in ["refund", "late again", "#refund", "re-fund", "café", "order 12345", "_late", "!!"]:
        fast, slow = re.compile(_term_regex(term)), re.compile(_slow_term(term))
        assert [bool(fast.search(t)) for t in texts] == [bool(slow.search(t)) for t in texts], term


def test_neighbours_are_the_exact_cosine_order(tmp_path):
    rng = np.random.default_rng(6)
    texts = [f"text {i}" for i in range(300)]
    layer_means = rng.normal(size=(300, 3, 8)).astype(np.float32)
    cache = EmbeddingCache(tmp_path)
    cache.put_many("f" * 64, texts, layer_means)
    ids = list(range(1000, 1300))
    index = build_index(ids, texts, "f" * 64, cache)
    mixed = layer_means.astype(np.float64).mean(axis=1)
    for row in (0, 17, 299):  # the cosine to every other message in float64, fully sorted
        cosine = mixed @ mixed[row] / np.linalg.norm(mixed, axis=1) / np.linalg.norm(mixed[row])
        order = [r for r in np.argsort(-cosine, kind="stable") if r != row][:10]
        near = neighbours(index, ids[row], k=10)
        assert near["message_id"].tolist() == [ids[r] for r in order]
        np.testing.assert_allclose(near["similarity"], cosine[order], atol=1e-5)
    assert len(neighbours(index, ids[0], k=1000)) == 299


def test_the_one_array_read_checks_each_entry_as_get_many_does(tmp_path):
    cache = EmbeddingCache(tmp_path)
    texts = ["a", "b", "c", "d", "a"]
    vecs = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    cache.put_many("g" * 64, texts[:4], vecs)
    cache.put_many("g" * 64, ["odd"], np.ones((1, 2, 2), np.float32))  # another shape: not this encoder's
    with sqlite3.connect(next(tmp_path.glob("*.sqlite"))) as con:
        con.execute("UPDATE vectors SET blob = ? WHERE key = ?", (b"\0" * 24, text_key("b")))  # digest now wrong
    found, array = cache.get_array("g" * 64, [*texts, "odd", "absent"])
    assert found.tolist() == [True, False, True, True, True, False, False]
    np.testing.assert_array_equal(array, vecs[[0, 2, 3, 0]])
    many = cache.get_many("g" * 64, texts)
    assert sorted(many) == sorted(text_key(t) for t in ("a", "c", "d"))


def test_only_a_pattern_without_choices_runs_untimed():
    from engage.labels.search import without_choices

    assert all(map(without_choices, [r"order \d{5}", r"\d{3}", r"^my\b", r"[]a-z] x{2}"]))
    assert not any(map(without_choices, [r"a.*b", "x{100}", r"#?\d{5,}", "(a|aa)+$", r"\p{L}", "a{e<=1}",
                                          "[[:alpha:]]", "(?i)x", "a|b", r"x\1", "a\\", "[abc", "a{1,3}", "a?"]))
