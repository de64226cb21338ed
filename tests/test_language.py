"""The non-English hint: other scripts and other Latin-script languages are flagged; English, including short,
slangy or accented tweets, is not."""

from __future__ import annotations

import pytest

from engage.language import looks_non_english, non_english

OTHER = ["Mi pedido nunca llegó, ¿pueden ayudarme?", "ma commande n'est jamais arrivée, merci de m'aider",
         "meine Bestellung ist nie angekommen, bitte helfen", "o meu pedido não chegou, obrigado",
         "мой заказ так и не пришёл", "我的订单还没有到", "طلبي لم يصل بعد", "@brand1 il mio ordine non è arrivato #4"]
ENGLISH = ["my order never arrived, can you help?", "@brand3 loving the new season lineup #3", "happy friday everyone",
           "new phone, who dis", "café crème was cold — can I get a refund? ☕", "lol", "", "👍👍👍", "#fail @brand2",
           "el classico tonight with the boys", "https://t.co/abc the app crashes every time I log in"]


@pytest.mark.parametrize("text", OTHER)
def test_other_languages_are_flagged(text):
    assert looks_non_english(text)


@pytest.mark.parametrize("text", ENGLISH)
def test_english_and_undecidable_text_is_not(text):
    assert not looks_non_english(text)


def test_non_english_marks_each_row():
    assert non_english([ENGLISH[0], OTHER[0], OTHER[4], ENGLISH[2]]).tolist() == [False, True, True, False]
    assert non_english([]).shape == (0,)
