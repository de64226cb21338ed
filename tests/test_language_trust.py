"""Issue 24 item 9: English tweets the non-English note flagged (the issue's, and the kinds found in the labeled
sample of bench/language.py, written anew here) are no longer flagged; one telling word of another language still
is."""

from __future__ import annotations

import pytest

from engage.language import looks_non_english

ENGLISH = ["well played, ^LO.", "#letsgo", "@united Conf # ABC123 e-ticket 0167 issued yesterday",
           "✈️✈️ LAX 🙌 #letsgo", "GREAT GAME GEN Y", "Win 11 Home, Version 22H2, OS Build 22621",
           "LA looking sunnier every day...", "doin ma laundry", "Sold $ES_F early",
           "visit www.example.com/ vote! Jonas", "LA baby @ Los Angeles, California", "ＳＵＭＭＥＲ ＳＥＶＥＮＴＥＥＮ",
           "ˢᴵᴺᶜᴱ ᴱᵛᴱᴿᵞᵀᴴᴵᴺᴳ ᴵˢ ᴬ ᴿᴱᶠᴸᴱᶜᵀᴵᴼᴺ"]
OTHER = ["TwitPic geht nicht", "que bom demais", "Uy, Hola amigos", "wir sind echt müde"]


@pytest.mark.parametrize("text", ENGLISH)
def test_english_tweets_with_a_word_other_languages_share_are_not_flagged(text):
    assert not looks_non_english(text)


@pytest.mark.parametrize("text", OTHER)
def test_one_telling_word_of_another_language_still_flags(text):
    assert looks_non_english(text)
