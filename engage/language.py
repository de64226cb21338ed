"""Which messages look non-English, so a page can say their scores are less reliable: the shipped ELMo (and Google's)
read English only, and a score on other text is close to noise.

A cheap heuristic, no dependency and no model: a message is flagged when most of its letters are not Latin (Cyrillic,
Arabic, CJK, ...), or when it is in Latin script, has a few words, none of them a common English word, and either
one common word of another language (Spanish, French, German, Portuguese, Italian, Dutch) that English tweets do
not use too, or two different ones of those that they do (of two letters or more: see _AMBIGUOUS). Short or
ambiguous text ("happy friday everyone", emoji, hashtags, "well played, ^LO.", an e-ticket number, a cross-post's
" @ Los Angeles, California") is never flagged: a false alarm costs more trust than a miss. Tuned on a hand-labeled
sample of the shared tweets (bench/language.py: the rows, how they were labeled, the false-positive rate before and
after).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from engage.tokens import bound_text

MIN_LETTERS = 4        # fewer letters than this: nothing to judge
MIN_WORDS = 3          # Latin-script text needs this many words to be judged by its words
LATIN_SHARE = 0.5      # below this share of Latin letters, the text is not English

_ENGLISH = frozenset("""a about after again all also always am an and any are as at back be because been before
best better but by can cant could day did didnt do does dont done even ever every first for from get go going good
got great had has have he her here him his home how i if im in into is it its just know last let like little lol
look lot love made make many me more morning most much my need never new next night no not now of off oh ok okay
on one only or other our out over people please really right said say see she should so some still such sure
than thank thanks that the their them then there these they thing think this time to today too up us very want
was way we well were what when where which while who why will with work would yes yet you your happy sorry nice
wait hope cool fun haha gonna wanna""".split())
_OTHER = frozenset("""el la los las un una y o pero que de del en con por para es son está estoy mi mis tu su muy
no sí nunca gracias hola pedido le les des et ou mais est sont je tu il nous vous mon ma mes ne pas très avec pour
dans sur merci bonjour commande der die das und oder aber ist sind ich du er wir ihr mein meine nicht sehr mit für
auf danke hallo bestellung o os as um uma e mas não é muito obrigado olá com il lo gli di che è sono io ho grazie
ciao ordine het een en maar niet ik jij wij zijn mijn bedankt mio meu não mais também porque cuando como ahora
todo nada aquí pas""".split()) - _ENGLISH
# Words of another language that English tweets hold too (a place's "Los", "LA", "en"; "OS", ".com", "die", "son";
# "^LO", "e-ticket", "GEN Y"): alone, one of them is no evidence, two different ones are.
_AMBIGUOUS = frozenset(w for w in _OTHER if len(w) < 3) | frozenset("""los las del con per son sur des die das com
non pas mon est mes una mis les""".split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_MARKUP = re.compile(r"[@#]\w+|https?://\S+")  # handles, hashtags and links say nothing about the language
_PLACE = re.compile(r"\s@\s.*$", re.DOTALL)  # a cross-post's " @ Los Angeles, California" names a place, not a language


def _is_latin(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


def looks_non_english(text: str) -> bool:
    """Whether one message looks written in a language other than English (see the module's rule)."""
    plain = bound_text(text)[0]  # what the model reads of it
    if not plain.isascii():  # ＦＵＬＬＷＩＤＴＨ or ˢᵘᵖᵉʳˢᶜʳᶦᵖᵗ letters are Latin ones
        plain = unicodedata.normalize("NFKC", plain)
    plain = _MARKUP.sub(" ", _PLACE.sub(" ", plain))
    if plain.isascii():  # every letter Latin: only their number matters (counted in C: the scoring history runs
        if len(_ASCII_LETTER.findall(plain)) < MIN_LETTERS:  # this on every message scored)
            return False
    else:
        letters = [ch for ch in plain if ch.isalpha()]
        if len(letters) < MIN_LETTERS:
            return False
        if sum(map(_is_latin, letters)) / len(letters) < LATIN_SHARE:
            return True
    words = [w.lower() for w in _WORD.findall(plain)]
    if len(words) < MIN_WORDS or any(w in _ENGLISH for w in words):
        return False
    other = {w for w in words if w in _OTHER and len(w) > 1}
    return len(other) >= 2 or bool(other - _AMBIGUOUS)


def non_english(texts: Sequence[str]) -> np.ndarray:
    """looks_non_english for every text: bool [N]."""
    return np.fromiter((looks_non_english(t) for t in texts), dtype=bool, count=len(texts))
